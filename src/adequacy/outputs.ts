/**
 * Report files, all rendered on the server from the analysis rows, deterministically (no clocks, fixed number
 * formats, sorted input): adequacy.csv, the HSD provider and facility tables, SVG choropleths (d3-geo + us-atlas)
 * and a bar chart, a PNG of the all-types map (@resvg/resvg-js), an accessible HTML report and a JSON summary.
 */
import { geoAlbersUsa, geoMercator, geoPath } from 'd3-geo';
import type { Feature, FeatureCollection } from 'geojson';
import { countyShapes } from './geo.ts';
import { countyStatus, typeSummaries, type Row, type Status, type TypeSummary } from './analyze.ts';
import { FACILITY_COLUMNS, HSD_LAYOUT_SOURCE, PROVIDER_COLUMNS, type HsdRecord } from './hsd-columns.ts';
import type { County, Rules } from './reference.ts';
import { csvLine, lineChunks } from './csv.ts';

export const TRAVEL_TIME_NOTE = 'Travel time: not assessed. It needs a road network or a travel-time matrix, and none was uploaded; only great-circle distance was evaluated.';

export const TRAVEL_TIME_SHORT = 'Travel time: not assessed (no travel-time matrix uploaded). Distances are great-circle miles.';

/** What the report says about travel time: not assessed, or assessed from the tenant's matrix (and where not). */
export function travelTimeNote(meta: Pick<ReportMeta, 'travelTime'>): string {
  const t = meta.travelTime;
  if (!t) return TRAVEL_TIME_NOTE;
  const missing = t.countiesTotal - t.countiesAssessed;
  return `Travel time: assessed from the plan's travel-time matrix "${t.name}" (uploaded ${t.uploadedAt}; drive minutes from each county's beneficiaries to each Location) against each criterion's maximum minutes, in ${t.countiesAssessed} of ${t.countiesTotal} counties`
    + (missing ? `; not assessed in the other ${missing} (the matrix has no rows for them), where only great-circle distance was evaluated.` : '.')
    + ' A result passes where the required share of beneficiaries has a provider within both the time and the distance standard.';
}

export function travelTimeShort(meta: Pick<ReportMeta, 'travelTime'>): string {
  const t = meta.travelTime;
  if (!t) return TRAVEL_TIME_SHORT;
  return `Travel time: assessed in ${t.countiesAssessed} of ${t.countiesTotal} counties (matrix "${t.name}"). Distances are great-circle miles.`;
}

export type TravelTimeStatus = 'not assessed' | 'assessed' | 'partly assessed';
export function travelTimeStatus(meta: Pick<ReportMeta, 'travelTime'>): TravelTimeStatus {
  const t = meta.travelTime;
  if (!t || t.countiesAssessed === 0) return 'not assessed';
  return t.countiesAssessed === t.countiesTotal ? 'assessed' : 'partly assessed';
}

export interface ReportMeta {
  networkId: string;
  networkName: string;
  serviceArea: string;
  criteriaName: string;
  criteriaYear: number;
  asOf: string;
  coverageBasis: string;
  mapTypes: string[];
  /** Locations that have no position (their providers were not counted). */
  locationsWithoutPosition: { id: string; name: string; sites: number }[];
  countiesWithoutShape: string[];
  rules: Rules;
  /** The tenant's travel-time matrix, when it has one: its name, upload time and the counties it covers. */
  travelTime?: { name: string; uploadedAt: string; countiesAssessed: number; countiesTotal: number };
}

/**
 * A report file. The HSD tables can be far larger than the rest (a row per county served; a national network gives
 * millions), so their body — and adequacy.csv's (tens of MB nationally) — is a re-iterable sequence of chunks produced
 * while it is written, never one string. Such a chunk is valid only until the next one is asked for (one buffer is
 * reused): write it (the job's file writers may be given a buffer the caller reuses once `write` resolves) or copy it.
 */
export interface ReportFile { name: string; contentType: string; body: Buffer | Iterable<Buffer> }

/** A file's bytes in one Buffer (tests, small files): chunks are copied as they come. */
export const fileBytes = (f: ReportFile): Buffer => (Buffer.isBuffer(f.body) ? f.body : joinChunks(f.body));

function joinChunks(chunks: Iterable<Buffer>): Buffer {
  const parts: Buffer[] = [];
  for (const c of chunks) parts.push(Buffer.from(c));
  return Buffer.concat(parts);
}

// ---------- CSV ----------

export { csvCell, csvLine } from './csv.ts';

export const ADEQUACY_COLUMNS = [
  'network_id', 'ssa_code', 'fips', 'state', 'county', 'designation', 'cms_type_code', 'type_name', 'category',
  'max_miles', 'max_minutes', 'travel_time', 'min_required', 'unit', 'required_share_pct', 'points', 'share_within_distance_pct',
  'share_within_time_pct', 'share_within_time_and_distance_pct',
  'within_reach', 'within_reach_capped', 'accepting_new_within_reach', 'nearest_p50_miles', 'nearest_p90_miles', 'nearest_minutes',
  'meets_distance', 'meets_time', 'meets_minimum', 'result', 'status', 'criteria_set', 'criteria_year',
];

const num = (x: number | null) => (x === null ? '' : x.toFixed(2));
const passFail = (x: boolean | null) => (x === null ? 'not assessed' : x ? 'pass' : 'fail');

export function adequacyCsv(rows: Row[], meta: Pick<ReportMeta, 'criteriaName' | 'criteriaYear'>): string {
  return joinChunks(adequacyCsvChunks(rows, meta)).toString();
}

/** adequacy.csv as chunks of about 64 KB (one reused buffer), produced as they are read (re-iterable): never the whole file in memory. */
export function adequacyCsvChunks(rows: Row[], meta: Pick<ReportMeta, 'criteriaName' | 'criteriaYear'>): Iterable<Buffer> {
  return { [Symbol.iterator]: () => lineChunks(adequacyLines(rows, meta)) };
}

function* adequacyLines(rows: Row[], meta: Pick<ReportMeta, 'criteriaName' | 'criteriaYear'>): Generator<string> {
  yield csvLine(ADEQUACY_COLUMNS);
  for (const r of rows) {
    yield csvLine([r.networkId, r.ssa, r.fips, r.state, r.county, r.designation, r.type, r.typeName, r.category,
      r.maxMiles, r.maxMinutes, r.travelTime, r.minRequired, r.unit, r.requiredSharePct.toFixed(2), r.points, r.sharePct.toFixed(2),
      num(r.shareTimePct), num(r.shareTimeAndDistancePct),
      r.withinReach, r.withinReachCapped, r.acceptingWithinReach, num(r.nearestP50), num(r.nearestP90), num(r.nearestMinutes),
      passFail(r.meetsDistance), passFail(r.meetsTime), passFail(r.meetsMinimum), r.pass ? 'pass' : 'fail', r.status, meta.criteriaName, meta.criteriaYear]);
  }
}

/** The HSD table as CSV chunks of about 64 KB, produced as they are read (re-iterable). */
export function hsdCsvChunks(kind: 'provider' | 'facility', records: Iterable<HsdRecord>): Iterable<Buffer> {
  const cols = kind === 'provider' ? PROVIDER_COLUMNS : FACILITY_COLUMNS;
  function* lines() {
    yield csvLine(cols.map((c) => c.header));
    for (const r of records) yield csvLine(cols.map((c) => c.value(r)));
  }
  return { [Symbol.iterator]: () => lineChunks(lines()) };
}

export function hsdCsv(kind: 'provider' | 'facility', records: Iterable<HsdRecord>): string {
  return joinChunks(hsdCsvChunks(kind, records)).toString();
}

// ---------- SVG ----------

export const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

export const STATUS_COLOURS: Record<Status | 'not evaluated', string> = {
  pass: '#1a7f37', shortfall: '#f0a030', 'no providers': '#c62828', 'not evaluated': '#d0d0d0',
};

export function mapSvg(rows: Row[], counties: County[], type: string | undefined, typeLabel: string, meta: ReportMeta, idPrefix: string): string {
  const shapes = countyShapes();
  const status = countyStatus(rows, type);
  const feats = counties.map((c) => shapes.get(c.fips)).filter((f): f is NonNullable<typeof f> => !!f);
  const W = 960, H = 600;
  const fc: FeatureCollection = { type: 'FeatureCollection', features: feats as Feature[] };
  const offMainland = counties.some((c) => /^(6[0-9]|7[0-9])/.test(c.fips));
  const projection = offMainland ? geoMercator().fitExtent([[10, 10], [W - 10, H - 90]], fc) : geoAlbersUsa().fitExtent([[10, 10], [W - 10, H - 90]], fc);
  const path = geoPath(projection).digits(1);
  const counts: Record<string, number> = { pass: 0, shortfall: 0, 'no providers': 0, 'not evaluated': 0 };
  let body = '';
  for (const c of counties) {
    const f = shapes.get(c.fips);
    const st: Status | 'not evaluated' = status.get(c.fips) ?? 'not evaluated';
    counts[st]++;
    if (!f) continue;
    const d = path(f);
    if (!d) continue;
    body += `<path d="${d}" fill="${STATUS_COLOURS[st]}" stroke="#ffffff" stroke-width="0.5"><title>${esc(`${c.name}, ${c.state}: ${st}`)}</title></path>\n`;
  }
  const title = `Network adequacy, ${typeLabel}: ${meta.networkName} in ${meta.serviceArea}`;
  const desc = `Choropleth of ${counties.length} counties coloured by result for ${typeLabel} (${meta.criteriaName}, ${meta.criteriaYear}): `
    + `${counts.pass} pass, ${counts.shortfall} shortfall, ${counts['no providers']} with no provider in reach, ${counts['not evaluated']} not evaluated. `
    + `Distances are great-circle miles. ${travelTimeNote(meta)}`;
  let legend = '';
  (['pass', 'shortfall', 'no providers', 'not evaluated'] as const).forEach((k, i) => {
    const x = 20 + i * 200;
    legend += `<rect x="${x}" y="${H - 60}" width="18" height="18" fill="${STATUS_COLOURS[k]}" stroke="#333333"/><text x="${x + 26}" y="${H - 46}" font-family="sans-serif" font-size="14" fill="#111111">${esc(k)} (${counts[k]})</text>\n`;
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" role="img" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" aria-labelledby="${idPrefix}-title ${idPrefix}-desc">\n`
    + `<title id="${idPrefix}-title">${esc(title)}</title>\n<desc id="${idPrefix}-desc">${esc(desc)}</desc>\n`
    + `<rect width="${W}" height="${H}" fill="#ffffff"/>\n<g>\n${body}</g>\n${legend}`
    + `<text x="20" y="${H - 14}" font-family="sans-serif" font-size="12" fill="#111111">${esc(travelTimeShort(meta))}</text>\n</svg>\n`;
}

export function barChartSvg(summaries: TypeSummary[], meta: ReportMeta, idPrefix: string): string {
  const rowH = 22, left = 330, width = 560, top = 40;
  const H = top + summaries.length * rowH + 60, W = left + width + 70;
  let body = '';
  summaries.forEach((s, i) => {
    const y = top + i * rowH;
    const w = (s.achievedPct / 100) * width;
    const rx = left + (s.requiredPct / 100) * width;
    body += `<text x="${left - 8}" y="${y + 15}" text-anchor="end" font-family="sans-serif" font-size="12" fill="#111111">${esc(`${s.type} ${s.typeName}`.slice(0, 48))}</text>`
      + `<rect x="${left}" y="${y + 3}" width="${w.toFixed(1)}" height="${rowH - 8}" fill="${s.achievedPct >= s.requiredPct ? STATUS_COLOURS.pass : STATUS_COLOURS.shortfall}"><title>${esc(`${s.type} ${s.typeName}: ${s.achievedPct.toFixed(2)}% achieved, ${s.requiredPct.toFixed(2)}% required`)}</title></rect>`
      + `<line x1="${rx.toFixed(1)}" x2="${rx.toFixed(1)}" y1="${y}" y2="${y + rowH - 2}" stroke="#111111" stroke-width="2"/>`
      + `<text x="${left + width + 6}" y="${y + 15}" font-family="sans-serif" font-size="12" fill="#111111">${s.achievedPct.toFixed(1)}%</text>\n`;
  });
  const title = `Share of beneficiaries within the distance standard, by type: ${meta.networkName} in ${meta.serviceArea}`;
  const desc = `Bar chart of the beneficiary-weighted share within the maximum distance per CMS type (bars) against the required share (black marks). `
    + `${summaries.filter((s) => s.achievedPct >= s.requiredPct).length} of ${summaries.length} types reach the required share. ${travelTimeNote(meta)}`;
  return `<svg xmlns="http://www.w3.org/2000/svg" role="img" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" aria-labelledby="${idPrefix}-title ${idPrefix}-desc">\n`
    + `<title id="${idPrefix}-title">${esc(title)}</title>\n<desc id="${idPrefix}-desc">${esc(desc)}</desc>\n<rect width="${W}" height="${H}" fill="#ffffff"/>\n`
    + `<text x="10" y="22" font-family="sans-serif" font-size="14" fill="#111111">${esc('Achieved share (bar) vs required share (mark)')}</text>\n${body}</svg>\n`;
}

// ---------- notes, JSON, HTML ----------

export function reportNotes(meta: ReportMeta): string[] {
  const notes = [
    `Criteria: ${meta.criteriaName}, contract year ${meta.criteriaYear}.`,
    `Who is covered: ${meta.coverageBasis}`,
    travelTimeNote(meta),
    `Required shares by county designation (rules.json, verification "${meta.rules.percent_of_beneficiaries_within_time_and_distance.verification}"): `
      + Object.entries(meta.rules.percent_of_beneficiaries_within_time_and_distance.by_designation).map(([k, v]) => `${k} ${v}%`).join(', ') + '.',
    'Primary care (S03) counts types 001–006 together; acute inpatient hospitals (040) count staffed beds; 041–043 are counted only from a service-level HSD type attribute.',
  ];
  for (const c of meta.rules.credits) {
    if (c.verification === 'unverified') notes.push(`The ${c.id.replace(/_/g, ' ')} credit is unverified in the reference data (its size and scope were not found in any source read), so it is NOT applied; results are shown without it.`);
    else notes.push(`The ${c.id.replace(/_/g, ' ')} credit (${c.credit_percentage_points ?? '?'} points, verification: ${c.verification}) is not applied: it depends on facts the directory does not hold.`);
  }
  notes.push(`HSD table layout: ${HSD_LAYOUT_SOURCE}; every column is marked unverified.`);
  return notes;
}

export function summaryJson(rows: Row[], counties: County[], meta: ReportMeta, files: string[]): string {
  const byType = typeSummaries(rows, counties);
  const all = countyStatus(rows);
  const s = {
    network: { id: meta.networkId, name: meta.networkName },
    serviceArea: meta.serviceArea,
    criteriaSet: { name: meta.criteriaName, year: meta.criteriaYear },
    asOf: meta.asOf,
    coverageBasis: meta.coverageBasis,
    travelTime: travelTimeStatus(meta),
    travelTimeMatrix: meta.travelTime ?? null,
    notes: reportNotes(meta),
    totals: {
      counties: counties.length, rows: rows.length, passing: rows.filter((r) => r.pass).length, failing: rows.filter((r) => !r.pass).length,
      rowsTimeAssessed: rows.filter((r) => r.travelTime === 'assessed').length, rowsMeetingTime: rows.filter((r) => r.meetsTime === true).length,
      countiesAllPass: [...all.values()].filter((v) => v === 'pass').length,
    },
    byType,
    dataQuality: { locationsWithoutPosition: meta.locationsWithoutPosition, countiesWithoutShape: meta.countiesWithoutShape },
    hsdColumns: { source: HSD_LAYOUT_SOURCE, provider: PROVIDER_COLUMNS.map((c) => ({ header: c.header, verified: c.verified })), facility: FACILITY_COLUMNS.map((c) => ({ header: c.header, verified: c.verified })) },
    files,
  };
  return JSON.stringify(s, null, 2) + '\n';
}

export function htmlReport(rows: Row[], counties: County[], meta: ReportMeta, maps: { label: string; svg: string }[], chart: string, files: string[]): string {
  const sums = typeSummaries(rows, counties);
  const all = countyStatus(rows);
  const failing = new Map<string, string[]>();
  for (const r of rows) if (!r.pass) failing.set(r.fips, [...(failing.get(r.fips) ?? []), r.type]);
  const h = esc;
  let out = `<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<meta name="viewport" content="width=device-width, initial-scale=1">\n`
    + `<title>${h(`Network adequacy report: ${meta.networkName}, ${meta.serviceArea}`)}</title>\n`
    + `<style>body{font-family:sans-serif;color:#111;background:#fff;max-width:1100px;margin:0 auto;padding:1rem;line-height:1.4}`
    + `table{border-collapse:collapse;margin:1rem 0}th,td{border:1px solid #666;padding:.25rem .5rem;text-align:left}th{background:#eee}`
    + `svg{max-width:100%;height:auto}.note{border-left:4px solid #555;padding-left:.75rem}</style>\n</head>\n<body>\n`
    + `<header><h1>${h(`Network adequacy: ${meta.networkName}`)}</h1>\n<p>Service area: ${h(meta.serviceArea)}. Network id: ${h(meta.networkId)}. As of ${h(meta.asOf)}.</p></header>\n<main>\n`;
  out += `<section aria-labelledby="s-about"><h2 id="s-about">About this report</h2>\n<ul>\n${reportNotes(meta).map((n) => `<li class="note">${h(n)}</li>`).join('\n')}\n</ul></section>\n`;
  const passing = rows.filter((r) => r.pass).length;
  out += `<section aria-labelledby="s-sum"><h2 id="s-sum">Summary</h2>\n<p>${passing} of ${rows.length} county and type combinations pass; `
    + `${[...all.values()].filter((v) => v === 'pass').length} of ${counties.length} counties pass for every type evaluated.</p>\n`;
  const timed = !!meta.travelTime;
  out += `<table><caption>Achieved vs required share of beneficiaries within the distance standard, by type${timed ? ', and counties meeting the time standard' : ''}</caption>\n<thead><tr><th scope="col">Type</th><th scope="col">Name</th><th scope="col">Counties</th><th scope="col">Counties passing</th><th scope="col">Achieved share (%)</th><th scope="col">Required share (%)</th>`
    + `${timed ? '<th scope="col">Counties assessed on time</th><th scope="col">Counties meeting time</th>' : ''}</tr></thead>\n<tbody>\n`;
  for (const s of sums) out += `<tr><th scope="row">${h(s.type)}</th><td>${h(s.typeName)}</td><td>${s.counties}</td><td>${s.passing}</td><td>${s.achievedPct.toFixed(2)}</td><td>${s.requiredPct.toFixed(2)}</td>${timed ? `<td>${s.timeAssessed}</td><td>${s.meetingTime}</td>` : ''}</tr>\n`;
  out += `</tbody></table>\n<figure>${chart}<figcaption>Bar chart of the table above: achieved share per type, with the required share marked.</figcaption></figure>\n</section>\n`;
  out += `<section aria-labelledby="s-maps"><h2 id="s-maps">Maps</h2>\n`;
  for (const m of maps) out += `<figure>${m.svg}<figcaption>${h(`Map: ${m.label}. The county table below gives the same information as text.`)}</figcaption></figure>\n`;
  out += `<table><caption>County results for all types (the maps' data)</caption>\n<thead><tr><th scope="col">County</th><th scope="col">SSA code</th><th scope="col">Designation</th><th scope="col">Result</th><th scope="col">Types failing</th></tr></thead>\n<tbody>\n`;
  for (const c of counties) out += `<tr><th scope="row">${h(`${c.name}, ${c.state}`)}</th><td>${c.ssa}</td><td>${h(c.designation)}</td><td>${h(all.get(c.fips) ?? 'not evaluated')}</td><td>${h((failing.get(c.fips) ?? []).join(' '))}</td></tr>\n`;
  out += `</tbody></table>\n</section>\n`;
  out += `<section aria-labelledby="s-dq"><h2 id="s-dq">Data quality</h2>\n`;
  if (meta.locationsWithoutPosition.length === 0) out += `<p>Every Location used by the network has a position.</p>\n`;
  else {
    out += `<p>${meta.locationsWithoutPosition.length} Locations have no position; the providers and facilities there were not counted. Add Location.position to fix this.</p>\n`
      + `<table><caption>Locations without a position</caption><thead><tr><th scope="col">Location</th><th scope="col">Name</th><th scope="col">Sites not counted</th></tr></thead><tbody>\n`;
    for (const l of meta.locationsWithoutPosition) out += `<tr><th scope="row">${h(l.id)}</th><td>${h(l.name)}</td><td>${l.sites}</td></tr>\n`;
    out += `</tbody></table>\n`;
  }
  if (meta.countiesWithoutShape.length) out += `<p>Counties without a shape in us-atlas (not evaluated): ${h(meta.countiesWithoutShape.join(', '))}.</p>\n`;
  out += `</section>\n<section aria-labelledby="s-files"><h2 id="s-files">Files</h2>\n<ul>${files.map((f) => `<li>${h(f)}</li>`).join('')}</ul>\n`
    + `<p>adequacy.csv has one row per county and type with every figure; the full detail is there.</p></section>\n</main>\n</body>\n</html>\n`;
  return out;
}

export async function pngOf(svg: string): Promise<Buffer> {
  const { Resvg } = await import('@resvg/resvg-js');
  const r = new Resvg(svg, { fitTo: { mode: 'width', value: 960 }, font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans' } });
  return Buffer.from(r.render().asPng());
}

/** Where the HSD tables come from: records (small reports, tests) or a source writing the CSV itself (HsdTables). */
export type HsdInput = { providers: Iterable<HsdRecord>; facilities: Iterable<HsdRecord> } | { csvChunks(kind: 'provider' | 'facility'): Iterable<Buffer> };

const hsdBody = (hsd: HsdInput, kind: 'provider' | 'facility'): Iterable<Buffer> =>
  ('csvChunks' in hsd ? hsd.csvChunks(kind) : hsdCsvChunks(kind, kind === 'provider' ? hsd.providers : hsd.facilities));

/** Every report file, in a fixed order. */
export async function renderReport(rows: Row[], counties: County[], meta: ReportMeta, hsd: HsdInput, opts: { png?: boolean } = {}): Promise<ReportFile[]> {
  const names = ['adequacy.csv', 'hsd-provider-table.csv', 'hsd-facility-table.csv', 'map-all-types.svg', ...meta.mapTypes.map((t) => `map-${t}.svg`), 'chart-share-by-type.svg', ...(opts.png !== false ? ['map-all-types.png'] : []), 'report.html', 'summary.json'];
  const maps = [{ label: 'all types', svg: mapSvg(rows, counties, undefined, 'all types', meta, 'map-all') }];
  const typeNames = new Map(rows.map((r) => [r.type, r.typeName]));
  for (const t of meta.mapTypes) maps.push({ label: `${t} ${typeNames.get(t) ?? ''}`.trim(), svg: mapSvg(rows, counties, t, `${t} ${typeNames.get(t) ?? ''}`.trim(), meta, `map-${t}`) });
  const chart = barChartSvg(typeSummaries(rows, counties), meta, 'chart');
  const files: ReportFile[] = [
    { name: 'adequacy.csv', contentType: 'text/csv', body: adequacyCsvChunks(rows, meta) },
    { name: 'hsd-provider-table.csv', contentType: 'text/csv', body: hsdBody(hsd, 'provider') },
    { name: 'hsd-facility-table.csv', contentType: 'text/csv', body: hsdBody(hsd, 'facility') },
    ...maps.map((m, i) => ({ name: i === 0 ? 'map-all-types.svg' : `map-${meta.mapTypes[i - 1]}.svg`, contentType: 'image/svg+xml', body: Buffer.from(m.svg) })),
    { name: 'chart-share-by-type.svg', contentType: 'image/svg+xml', body: Buffer.from(chart) },
  ];
  if (opts.png !== false) files.push({ name: 'map-all-types.png', contentType: 'image/png', body: await pngOf(maps[0].svg) });
  files.push({ name: 'report.html', contentType: 'text/html', body: Buffer.from(htmlReport(rows, counties, meta, maps, chart, names)) });
  files.push({ name: 'summary.json', contentType: 'application/json', body: Buffer.from(summaryJson(rows, counties, meta, names)) });
  return files;
}
