/**
 * A tenant's travel-time matrix: drive minutes from each county's beneficiaries to each in-network Location, as a
 * plan's GIS vendor produces them (we have no road network). With it the report assesses the time standard
 * (county-criteria max_minutes); without it, time is "not assessed".
 *
 * CSV (UTF-8, header row, comma-separated, optionally gzip with Content-Encoding: gzip):
 *
 *     fips,location,minutes            (or ssa_code instead of fips)
 *     24031,loc-bethesda-1,18.5
 *
 *   fips / ssa_code  the beneficiaries' county: 5-digit county FIPS (2017 vintage, as county-designations.csv) or SSA
 *                    state/county code
 *   location         the FHIR id of a Location in the directory (`Location/<id>` also accepted)
 *   minutes          drive time, 0–1440, decimals allowed: the vendor's figure for the county's beneficiaries
 *                    (e.g. from the county's population-weighted centroid)
 * Other columns are ignored. A (county, Location) pair may appear once. A pair missing from a county that has rows
 * means "beyond every time standard"; a county with no rows at all is "not assessed". Locations not (yet) in the
 * directory are kept and simply unused.
 *
 * An upload replaces the tenant's matrix in one transaction, streamed in batches: a bad line refuses the whole file
 * (400 naming the line) and leaves the previous matrix in place.
 */
import { Transform, type Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import Cursor from 'pg-cursor';
import { parse } from 'csv-parse';
import type { Db, TenantTx } from '../storage/db.ts';
import { FhirError } from '../fhir/outcome/errors.ts';
import type { CountyTravelTimes, TravelTimes } from './analyze.ts';
import { loadReference } from './reference.ts';

/** Largest accepted matrix, bytes after decompression (a national matrix of ~10M pairs is ~300 MB). */
export const MAX_MATRIX_BYTES = 1024 * 1024 * 1024;
export const MAX_MINUTES = 1440;
const BATCH = 5000;
const LOCATION_ID = /^[A-Za-z0-9\-.]{1,64}$/;

export interface TravelTimeSetInfo { name: string; pairs: number; counties: number; uploadedAt: string; uploadedBy: string | null }

export class MatrixLineError extends Error {
  readonly line: number;
  constructor(line: number, message: string) { super(`line ${line}: ${message}`); this.line = line; }
}

const lineError = (line: number, message: string) => new FhirError('bad-request', `The travel-time matrix was refused, nothing was stored: line ${line}: ${message}`, {
  issues: [{ severity: 'error', code: 'invalid', diagnostics: `line ${line}: ${message}`, location: [`line ${line}`] }],
});

/** Counts bytes and fails the upload past the limit (413). */
function byteLimit(max: number): Transform {
  let n = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      n += chunk.length;
      if (n > max) cb(new FhirError('too-large', `The travel-time matrix is larger than ${max} bytes; nothing was stored`));
      else cb(null, chunk);
    },
  });
}

interface Pair { fips: string; location: string; minutes: number; line: number }

/** Parses and checks one record (throws MatrixLineError). */
export function checkRecord(r: Record<string, string>, line: number): Pair {
  const ref = loadReference();
  let fips: string | undefined;
  if (r.fips !== undefined && r.fips !== '') {
    if (!/^\d{1,5}$/.test(r.fips)) throw new MatrixLineError(line, `fips "${r.fips}" is not a county FIPS code`);
    fips = ref.byFips.get(r.fips.padStart(5, '0'))?.fips;
    if (!fips) throw new MatrixLineError(line, `unknown county FIPS ${r.fips}`);
  } else if (r.ssa_code !== undefined && r.ssa_code !== '') {
    fips = /^\d{1,5}$/.test(r.ssa_code) ? ref.bySsa.get(r.ssa_code.padStart(5, '0'))?.fips : undefined;
    if (!fips) throw new MatrixLineError(line, `unknown SSA county code ${r.ssa_code}`);
  } else throw new MatrixLineError(line, 'no county (fips or ssa_code)');
  const location = (r.location ?? '').replace(/^Location\//, '');
  if (!LOCATION_ID.test(location)) throw new MatrixLineError(line, `location "${r.location ?? ''}" is not a Location id`);
  const minutes = r.minutes === undefined || r.minutes.trim() === '' ? NaN : Number(r.minutes);
  if (!Number.isFinite(minutes) || minutes < 0 || minutes > MAX_MINUTES) throw new MatrixLineError(line, `minutes "${r.minutes ?? ''}" must be a number from 0 to ${MAX_MINUTES}`);
  return { fips, location, minutes, line };
}

function checkHeader(columns: string[]): string[] {
  const cols = columns.map((c) => c.trim().toLowerCase());
  if (!cols.includes('fips') && !cols.includes('ssa_code')) throw new MatrixLineError(1, 'the header needs a fips (or ssa_code) column');
  for (const c of ['location', 'minutes']) if (!cols.includes(c)) throw new MatrixLineError(1, `the header needs a ${c} column`);
  const dup = cols.find((c, i) => cols.indexOf(c) !== i);
  if (dup) throw new MatrixLineError(1, `column ${dup} appears twice`);
  return cols;
}

async function insertBatch(tx: TenantTx, batch: Pair[]): Promise<void> {
  const seen = new Map<string, number>();
  for (const p of batch) {
    const k = `${p.fips}|${p.location}`;
    const earlier = seen.get(k);
    if (earlier !== undefined) throw new MatrixLineError(p.line, `county ${p.fips} and Location ${p.location} were already given on line ${earlier}`);
    seen.set(k, p.line);
  }
  // a pair repeating one of an earlier batch is skipped here and found by what did not come back (PostgreSQL hides
  // the key of a unique violation on a table with row-level security)
  const r = await tx.query<{ fips: string; location_id: string }>(`INSERT INTO adequacy_travel_times (tenant_id, fips, location_id, minutes)
    SELECT $1, f, l, m FROM unnest($2::text[], $3::text[], $4::real[]) AS u(f, l, m)
    ON CONFLICT (tenant_id, fips, location_id) DO NOTHING RETURNING fips, location_id`,
  [tx.tenant, batch.map((p) => p.fips), batch.map((p) => p.location), batch.map((p) => p.minutes)]);
  if (r.rows.length === batch.length) return;
  const inserted = new Set(r.rows.map((x) => `${x.fips}|${x.location_id}`));
  const dup = batch.find((p) => !inserted.has(`${p.fips}|${p.location}`))!;
  throw new MatrixLineError(dup.line, `county ${dup.fips} and Location ${dup.location} were already given on an earlier line`);
}

/**
 * Streams a CSV matrix into the tenant's store, replacing the previous one in one transaction. Bad input → a
 * FhirError (400 naming the line, 413 past the size limit); nothing is stored then.
 */
export async function uploadTravelTimes(db: Db, tenant: string, body: Readable, opts: { name: string; by: string | null; gzip?: boolean; maxBytes?: number }): Promise<TravelTimeSetInfo> {
  // piped by hand, not with pipeline(): a refused upload must not destroy the request (the client still needs our answer)
  const parser = parse({ columns: checkHeader, info: true, bom: true, trim: true, skip_empty_lines: true });
  parser.on('error', () => { /* reported by the iterator below, also when it fails before the iteration starts */ });
  const fail = (err: Error) => parser.destroy(err);
  const limit = byteLimit(opts.maxBytes ?? MAX_MATRIX_BYTES).on('error', fail);
  body.on('error', fail);
  if (opts.gzip) body.pipe(createGunzip().on('error', fail)).pipe(limit).pipe(parser);
  else body.pipe(limit).pipe(parser);
  try {
    return await db.withTenant(tenant, async (tx) => {
      // one upload per tenant at a time: a second one waits, then replaces the first's matrix whole
      await tx.query(`SELECT pg_advisory_xact_lock(hashtext('adequacy-travel-times'), hashtext($1))`, [tenant]);
      await tx.query('DELETE FROM adequacy_travel_times WHERE tenant_id = $1', [tenant]);
      await tx.query(`INSERT INTO adequacy_travel_time_sets (tenant_id, name, pairs, counties, uploaded_by) VALUES ($1, $2, 0, 0, $3)
        ON CONFLICT (tenant_id) DO UPDATE SET name = EXCLUDED.name, pairs = 0, counties = 0, uploaded_by = EXCLUDED.uploaded_by, uploaded_at = now()`, [tenant, opts.name, opts.by]);
      let batch: Pair[] = [];
      let pairs = 0;
      const counties = new Set<string>();
      for await (const { record, info } of parser as AsyncIterable<{ record: Record<string, string>; info: { lines: number } }>) {
        const p = checkRecord(record, info.lines);
        counties.add(p.fips);
        batch.push(p);
        if (batch.length >= BATCH) { await insertBatch(tx, batch); pairs += batch.length; batch = []; }
      }
      if (batch.length) { await insertBatch(tx, batch); pairs += batch.length; }
      if (pairs === 0) throw new MatrixLineError(2, 'the matrix has no rows');
      const r = await tx.query(`UPDATE adequacy_travel_time_sets SET pairs = $2, counties = $3 WHERE tenant_id = $1 RETURNING uploaded_at`, [tenant, pairs, counties.size]);
      return { name: opts.name, pairs, counties: counties.size, uploadedAt: new Date(r.rows[0].uploaded_at).toISOString(), uploadedBy: opts.by };
    });
  } catch (err) {
    if (err instanceof MatrixLineError) throw lineError(err.line, err.message.replace(/^line \d+: /, ''));
    const e = err as { code?: string; lines?: number; message?: string };
    if (typeof e.code === 'string' && e.code.startsWith('CSV_')) throw lineError(e.lines ?? 1, (e.message ?? 'not valid CSV').replace(/ on line \d+$/, ''));
    if (e.code === 'Z_DATA_ERROR' || e.code === 'Z_BUF_ERROR') throw new FhirError('bad-request', 'The body is not valid gzip (Content-Encoding: gzip); nothing was stored');
    throw err;
  } finally {
    body.unpipe();
  }
}

export async function travelTimeSet(tx: TenantTx): Promise<TravelTimeSetInfo | undefined> {
  const r = await tx.query('SELECT name, pairs, counties, uploaded_at, uploaded_by FROM adequacy_travel_time_sets WHERE tenant_id = $1', [tx.tenant]);
  const x = r.rows[0];
  return x ? { name: x.name, pairs: Number(x.pairs), counties: x.counties, uploadedAt: new Date(x.uploaded_at).toISOString(), uploadedBy: x.uploaded_by } : undefined;
}

export async function deleteTravelTimes(db: Db, tenant: string): Promise<boolean> {
  const r = await db.withTenant(tenant, (tx) => tx.query('DELETE FROM adequacy_travel_time_sets WHERE tenant_id = $1', [tenant]));
  return (r.rowCount ?? 0) > 0;
}

/**
 * The matrix restricted to what one report needs (its counties, the network's Locations), held as sorted typed
 * arrays per county: 8 bytes a pair, looked up by binary search.
 */
export class TravelTimeMatrix implements TravelTimes {
  readonly name: string;
  readonly #byCounty = new Map<string, { locs: Int32Array; minutes: Float32Array }>();
  /** Counties with at least one row (any Location): time is assessed there. */
  readonly assessed = new Set<string>();
  constructor(name: string, pairs: Map<string, [number, number][]>) {
    this.name = name;
    for (const [fips, list] of pairs) {
      list.sort((a, b) => a[0] - b[0]);
      this.#byCounty.set(fips, { locs: Int32Array.from(list, (p) => p[0]), minutes: Float32Array.from(list, (p) => p[1]) });
    }
  }
  forCounty(fips: string): CountyTravelTimes | undefined {
    if (!this.assessed.has(fips)) return undefined;
    const c = this.#byCounty.get(fips) ?? { locs: new Int32Array(0), minutes: new Float32Array(0) };
    return {
      minutes: (site) => {
        if (site.loc === undefined) return undefined;
        let lo = 0, hi = c.locs.length - 1;
        while (lo <= hi) {
          const mid = (lo + hi) >> 1;
          const v = c.locs[mid];
          if (v === site.loc) return c.minutes[mid];
          if (v < site.loc) lo = mid + 1; else hi = mid - 1;
        }
        return undefined;
      },
      *entries() { for (let i = 0; i < c.locs.length; i++) yield [c.locs[i], c.minutes[i]] as [number, number]; },
    };
  }
}

/**
 * Loads the pairs of these counties whose Location is one of the network's (`locationIndex`: Location id → the
 * number sites carry as `loc`), streamed with a cursor.
 */
export async function loadTravelTimes(tx: TenantTx, set: TravelTimeSetInfo, fipsList: string[], locationIndex: Map<string, number>): Promise<TravelTimeMatrix> {
  const pairs = new Map<string, [number, number][]>();
  const assessed = new Set<string>();
  const counted = await tx.query<{ fips: string }>('SELECT DISTINCT fips FROM adequacy_travel_times WHERE tenant_id = $1 AND fips = ANY($2)', [tx.tenant, fipsList]);
  for (const r of counted.rows) assessed.add(r.fips);
  const cursor = tx.client.query(new Cursor('SELECT fips, location_id, minutes FROM adequacy_travel_times WHERE tenant_id = $1 AND fips = ANY($2) AND location_id = ANY($3)',
    [tx.tenant, fipsList, [...locationIndex.keys()]]));
  try {
    for (;;) {
      const rows = await cursor.read(5000);
      for (const r of rows) {
        const loc = locationIndex.get(r.location_id);
        if (loc === undefined) continue;
        let list = pairs.get(r.fips);
        if (!list) pairs.set(r.fips, list = []);
        list.push([loc, r.minutes]);
      }
      if (rows.length < 5000) break;
    }
  } finally { await cursor.close(); }
  const m = new TravelTimeMatrix(set.name, pairs);
  for (const f of assessed) m.assessed.add(f);
  return m;
}
