/**
 * npm run bench:adequacy — network adequacy at national scale, in process.
 *
 * Builds a synthetic national network from the foundation's generator (every PractitionerRole × Location and every
 * facility HealthcareService × Location is one provider-location; the whole synthetic directory is treated as one
 * national network), then analyses every US county × every CMS HSD type with criteria (sample beneficiary points
 * in each county polygon) and renders the report files. Prints wall time of each phase and peak RSS.
 *
 *   BENCH_PRACTITIONERS=640000 (default; ≈ 1,000,000 provider-locations)
 *   BENCH_OUT=<dir> writes the files there while they are rendered (else their bytes are only counted)
 *   BENCH_HSD=0 leaves out the HSD tables per county served (the full report has them: every site × every county
 *   it serves, millions of rows at national scale; without them the figures compare with the runs before they existed)
 *   BENCH_MEM=1 prints the process's memory (RSS, V8 heap, external) before rendering and after each file
 *
 * Not timed against PostgreSQL: reading the network from the database is a streamed scan (src/adequacy/collect.ts)
 * measured separately by the API tests; this measures the analysis and rendering the issue sets targets for.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { generateDirectory, BED_COUNT_EXTENSION_URL, HSD_TYPE_SYSTEM } from '../../src/seeds/synthetic/generator.ts';
import { analyze, type Site } from '../../src/adequacy/analyze.ts';
import type { SiteDetail } from '../../src/adequacy/collect.ts';
import { HsdTables } from '../../src/adequacy/hsd-tables.ts';
import { pointsFor } from '../../src/adequacy/run.ts';
import { renderReport, type ReportMeta } from '../../src/adequacy/outputs.ts';
import { loadReference, rollUp } from '../../src/adequacy/reference.ts';

const practitioners = Number(process.env.BENCH_PRACTITIONERS ?? 640_000);
const withHsd = process.env.BENCH_HSD !== '0';
const ref = loadReference();
const t0 = performance.now();
const cpu0 = process.cpuUsage();
const rss = () => `RSS ${(process.memoryUsage.rss() / 2 ** 20).toFixed(0)} MiB (peak so far ${(process.resourceUsage().maxRSS / 1024).toFixed(0)})`;
const mark = (label: string, since: number) => console.log(`${label.padEnd(44)} ${((performance.now() - since) / 1000).toFixed(1).padStart(5)} s   ${rss()}`);

const sites: Site[] = [];
const details: SiteDetail[] = [];
const typesOf = (codes: string[]) => [...new Set(codes.flatMap((c) => ref.nuccToTypes.get(c) ?? []).map(rollUp))].filter((t) => ref.typeByCode.has(t));
// one array per distinct type list (as equal lists are equal arrays to the analysis)
const typeLists = new Map<string, string[]>();
const interned = (types: string[]) => { const k = types.join(','); let v = typeLists.get(k); if (!v) typeLists.set(k, v = types); return v; };
let entity = 0;
{ // the Locations' positions are needed only while generating
const positions = new Map<string, [number, number]>();
for (const r of generateDirectory({ practitioners, seed: 1 }) as Iterable<any>) {
  if (r.resourceType === 'Location') {
    if (r.position) positions.set(r.id, [r.position.latitude, r.position.longitude]);
  } else if (r.resourceType === 'HealthcareService' || r.resourceType === 'PractitionerRole') {
    const chars = (r.characteristic ?? []).flatMap((c: any) => c.coding ?? []).filter((c: any) => c.system === HSD_TYPE_SYSTEM).map((c: any) => rollUp(String(c.code).padStart(3, '0')));
    const types = interned(chars.length ? chars : typesOf((r.specialty ?? []).flatMap((c: any) => (c.coding ?? []).map((x: any) => x.code))));
    if (!types.length) continue;
    const beds = (r.extension ?? []).find((e: any) => e.url === BED_COUNT_EXTENSION_URL)?.valueInteger ?? 0;
    const e = entity++;
    for (const l of r.location ?? []) {
      const p = positions.get(String(l.reference).slice('Location/'.length));
      if (!p) continue;
      sites.push({ entity: e, types, lat: p[0], lon: p[1], beds, accepting: true, ...(withHsd ? { ref: details.length } : {}) });
      if (withHsd) details.push({ name: r.id, npi: '', codes: types, kind: r.resourceType === 'HealthcareService' ? 'facility' : 'provider', street: '', city: '', state: '', zip: '', group: '', beds, accepting: true });
    }
  }
}
}
const tGen = performance.now();
const cpuGen = process.cpuUsage();
mark(`generate ${practitioners} practitioners → ${sites.length} provider-locations`, t0);

const counties = ref.counties;
const tPts = performance.now();
const { points, basis, withoutShape } = pointsFor(counties, {});
mark(`sample points (${[...points.values()].reduce((n, p) => n + p.length, 0)} in ${points.size} counties)`, tPts);
const tA = performance.now();
const hsd = withHsd ? new HsdTables(details, ref) : undefined;
const rows = analyze({ networkId: 'national', counties, points, sites, types: ref.types, criteria: ref.criteria, rules: ref.rules }, undefined, hsd?.add);
const siteCount = sites.length;
sites.length = 0; // as the job does: rendering needs the rows and the HSD details only
mark(`analyse ${counties.length} counties × ${ref.types.length} types (${rows.length} rows${hsd ? `, ${hsd.pairs} (site, county) pairs served` : ''})`, tA);
const tR = performance.now();
const meta: ReportMeta = { networkId: 'national', networkName: 'Synthetic national network', serviceArea: 'all US counties', criteriaName: ref.criteria.name, criteriaYear: ref.criteria.year, asOf: '2026-01-01', coverageBasis: basis, mapTypes: ['S03'], locationsWithoutPosition: [], countiesWithoutShape: withoutShape, rules: ref.rules };
if (process.env.BENCH_MEM) { const m = process.memoryUsage(); console.log(`  before render: rss ${(m.rss/2**20).toFixed(0)} heapUsed ${(m.heapUsed/2**20).toFixed(0)} heapTotal ${(m.heapTotal/2**20).toFixed(0)} external ${(m.external/2**20).toFixed(0)}`); }
const files = await renderReport(rows, counties, meta, hsd ?? { providers: [], facilities: [] });
// the HSD tables are produced as they are written: stream them (to BENCH_OUT, or just count the bytes), as the job does
const out = process.env.BENCH_OUT;
if (out) fs.mkdirSync(out, { recursive: true });
let bytes = 0;
for (const f of files) {
  const fd = out ? fs.openSync(path.join(out, f.name), 'w') : undefined;
  for (const c of Buffer.isBuffer(f.body) ? [f.body] : f.body) {
    bytes += c.length;
    if (fd !== undefined) fs.writeSync(fd, c);
  }
  if (fd !== undefined) fs.closeSync(fd);
  if (process.env.BENCH_MEM) { const m = process.memoryUsage(); console.log(`  ${f.name}: rss ${(m.rss/2**20).toFixed(0)} heapUsed ${(m.heapUsed/2**20).toFixed(0)} heapTotal ${(m.heapTotal/2**20).toFixed(0)} external ${(m.external/2**20).toFixed(0)} ab ${(m.arrayBuffers/2**20).toFixed(0)} peak ${(process.resourceUsage().maxRSS/1024).toFixed(0)}`); }
}
mark(`render ${files.length} files (${(bytes / 1e6).toFixed(1)} MB${out ? `, written to ${out}` : ''})`, tR);
const analysisWall = (performance.now() - tGen) / 1000;
const total = (performance.now() - t0) / 1000;
const rssMiB = process.resourceUsage().maxRSS / 1024;
console.log(`\nprovider-locations: ${siteCount}; counties: ${counties.length}; rows: ${rows.length}; passing: ${rows.filter((r) => r.pass).length}`);
console.log(`wall time (points + analysis + rendering): ${analysisWall.toFixed(1)} s  (target < 60 s)`);
console.log(`wall time including generating the directory: ${total.toFixed(1)} s`);
const cpu = process.cpuUsage(cpuGen);
console.log(`CPU time (points + analysis + rendering): ${((cpu.user + cpu.system) / 1e6).toFixed(1)} s; including generation: ${((process.cpuUsage(cpu0).user + process.cpuUsage(cpu0).system) / 1e6).toFixed(1)} s`);
console.log(`peak RSS: ${rssMiB.toFixed(0)} MiB  (target < 1024 MiB)`);
console.log(`machine: ${os.cpus().length} × ${os.cpus()[0]?.model ?? '?'}, node ${process.version}, load average ${os.loadavg().map((x) => x.toFixed(1)).join(' ')}`);
console.log(`settings: BENCH_PRACTITIONERS=${practitioners} BENCH_HSD=${withHsd ? 1 : 0}${out ? ` BENCH_OUT=${out}` : ''}`);
