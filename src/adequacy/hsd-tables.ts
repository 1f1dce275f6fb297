/**
 * The HSD provider and facility tables, per county served: a site is listed under the SSA code of every county of
 * the service area it serves for a type (within that county's maximum distance — and time, where assessed — of at
 * least one of its beneficiaries: the sites the analysis counts for the county), as HSD submissions list a provider
 * once per county it is used for. A provider serving three counties appears three times; one outside the service
 * area's reach not at all. Within a county, rows are sorted by (specialty code, NPI, name, street, city, ZIP) and a
 * row with the same values as an earlier one of the county is left out (the first served wins).
 *
 * National networks serve millions of (site, county) pairs, so nothing here is a per-row object:
 * - the analysis hands over each county's served sites; they are kept as one 32-bit integer per pair (site × 64 +
 *   type) in fixed-size typed-array blocks, in the order served;
 * - when a table is written, each (site, HSD code) row of the table's kind is encoded ONCE — every column except the
 *   county's (hsd-columns.ts marks it) — into large byte blocks, and given its rank in the table's sort order
 *   (equal keys share a rank);
 * - then county by county (SSA order) the served pairs become ranks (first served wins), the ranks are sorted
 *   numerically, and each row is copied as bytes into one reused 64 KiB buffer, handed on whenever it is full (a
 *   chunk is valid until the next is asked for; outputs.ts ReportFile).
 * The bytes are those of `hsdCsvChunks` over `records()` (the same cells, order and de-duplication).
 */
import type { Site } from './analyze.ts';
import type { SiteDetail } from './collect.ts';
import { csvCell, csvLine } from './csv.ts';
import { FACILITY_COLUMNS, PROVIDER_COLUMNS, type HsdColumn, type HsdRecord } from './hsd-columns.ts';
import { BED_TYPE, rollUp, type County, type HsdType, type ReferenceData } from './reference.ts';

type Kind = 'provider' | 'facility';

const PAIR_BLOCK_BITS = 20;
const PAIR_BLOCK = 1 << PAIR_BLOCK_BITS;
/** Encoded rows are stored in blocks of this many bytes (a longer row gets a block of its own). */
const ROW_BLOCK = 4 << 20;
/** Output chunk size. */
const CHUNK = 64 << 10;

/** A table's rows, one per (site, HSD code) of its kind, encoded once; the county cells are added per county served. */
interface Prepared {
  cols: HsdColumn[];
  /** Runs of encoded text per row: the row is run0 + county cell 0 + run1 + … (one more run than county columns). */
  runs: number;
  /** Rows of detail i: rowStart[i] … rowStart[i + 1] - 1. */
  rowStart: Int32Array;
  rowType: Uint8Array;
  /** Rank of the row's sort key among the table's rows (equal keys, equal rank). */
  rowRank: Int32Array;
  rowCode: string[];
  rowDetail: Int32Array;
  rowBlock: Uint16Array;
  rowOffset: Int32Array;
  /** End offset (in its block) of run j of row r: runEnd[r * runs + j]. */
  runEnd: Int32Array;
  blocks: Buffer[];
  ranks: number;
  /** Scratch, one slot per rank: the county that last saw it, the row that won it, the county's ranks. */
  seen: Int32Array;
  winner: Int32Array;
  list: Int32Array;
}

/** The record of a (site, code) without its county: a column reading `ssa` that is not marked `county` fails. */
class SiteRecord implements HsdRecord {
  name = ''; npi = ''; hsdCode = ''; typeName = ''; street = ''; city = ''; state = ''; zip = ''; group = '';
  beds: number | null = null; acceptingNewPatients = false;
  /** One object reused for every row (the column functions only read it). */
  set(d: SiteDetail, code: string, typeName: string, beds: number | null): this {
    this.name = d.name; this.npi = d.npi; this.hsdCode = code; this.typeName = typeName; this.street = d.street; this.city = d.city; this.state = d.state; this.zip = d.zip;
    this.group = d.group; this.beds = beds; this.acceptingNewPatients = d.accepting;
    return this;
  }
  get ssa(): string { throw new Error('an HSD column reads the county (ssa) but is not marked county: true (hsd-columns.ts)'); }
}

/** The record of a county alone: a `county` column reading anything but `ssa` fails. */
function countyRecord(ssa: string): HsdRecord {
  return new Proxy({ ssa } as HsdRecord, {
    get(target, k) {
      if (k !== 'ssa') throw new Error(`an HSD column marked county: true reads ${String(k)} (hsd-columns.ts)`);
      return target.ssa;
    },
  });
}

/** Sort-key comparison of the old `${code}|${npi}|${name}|${street}|${city}|${zip}` strings, without building them. */
function keyFields(d: SiteDetail, code: string): string[] { return [code, d.npi, d.name, d.street, d.city, d.zip]; }
function compareKeys(ca: string, da: SiteDetail, cb: string, db: SiteDetail): number {
  for (let f = 0; f < 6; f++) {
    const a = f === 0 ? ca : f === 1 ? da.npi : f === 2 ? da.name : f === 3 ? da.street : f === 4 ? da.city : da.zip;
    const b = f === 0 ? cb : f === 1 ? db.npi : f === 2 ? db.name : f === 3 ? db.street : f === 4 ? db.city : db.zip;
    if (a === b) continue;
    // one a proper prefix of the other: the separator (or the end) decides, so compare the joined keys
    if (a.startsWith(b) || b.startsWith(a)) {
      const ka = keyFields(da, ca).join('|'), kb = keyFields(db, cb).join('|');
      return ka < kb ? -1 : ka > kb ? 1 : 0;
    }
    return a < b ? -1 : 1;
  }
  return 0;
}

export class HsdTables {
  readonly #details: SiteDetail[];
  readonly #ref: ReferenceData;
  readonly #typeCodes: string[];
  /** Served pairs (detail index × 64 + type number), in the order served, in blocks of PAIR_BLOCK. */
  readonly #pairs: Uint32Array[] = [];
  #pairCount = 0;
  /** fips → the county and the [start, end) ranges of its pairs (one range when its calls come together). */
  readonly #served = new Map<string, { county: County; ranges: number[] }>();

  constructor(details: SiteDetail[], ref: ReferenceData) {
    this.#details = details;
    this.#ref = ref;
    this.#typeCodes = ref.types.map((t) => t.code);
    if (this.#typeCodes.length > 64) throw new Error('more than 64 HSD types');
    if (details.length >= 2 ** 26) throw new Error('more than 2^26 HSD sites');
  }

  /** The analysis' ServedCallback. */
  add = (county: County, type: HsdType, sites: Site[]): void => {
    let e = this.#served.get(county.fips);
    if (!e) this.#served.set(county.fips, e = { county, ranges: [] });
    const t = this.#typeCodes.indexOf(type.code);
    const start = this.#pairCount;
    let n = start;
    for (const s of sites) {
      if (s.ref === undefined) continue;
      const b = n >>> PAIR_BLOCK_BITS;
      if (b === this.#pairs.length) this.#pairs.push(new Uint32Array(PAIR_BLOCK));
      this.#pairs[b][n & (PAIR_BLOCK - 1)] = s.ref * 64 + t;
      n++;
    }
    this.#pairCount = n;
    if (n === start) return;
    const r = e.ranges;
    if (r.length && r[r.length - 1] === start) r[r.length - 1] = n;
    else r.push(start, n);
  };

  /** Served (site, county) pairs held. */
  get pairs(): number { return this.#pairCount; }

  /** The table as CSV chunks (header first), produced while they are read. Re-iterable. */
  csvChunks(kind: Kind): Iterable<Buffer> {
    const self = this;
    return { *[Symbol.iterator]() { yield* self.#chunks(kind); } };
  }

  /** The table's rows as records, county by county in SSA order (tests; the CSV comes from csvChunks). Re-iterable. */
  records(kind: Kind): Iterable<HsdRecord> {
    const self = this;
    return {
      *[Symbol.iterator]() {
        const p = self.#prepare(kind);
        for (const { county, n } of self.#counties(p)) {
          for (let i = 0; i < n; i++) {
            const row = p.winner[p.list[i]];
            const d = self.#details[p.rowDetail[row]];
            const code = p.rowCode[row];
            const t = self.#ref.typeByCode.get(rollUp(code));
            yield {
              ssa: county.ssa, name: d.name, npi: d.npi, hsdCode: code, typeName: t?.name ?? '', street: d.street, city: d.city, state: d.state, zip: d.zip,
              group: d.group, beds: kind === 'facility' && rollUp(code) === BED_TYPE ? d.beds : null, acceptingNewPatients: d.accepting,
            };
          }
        }
      },
    };
  }

  *#chunks(kind: Kind): Generator<Buffer> {
    const p = this.#prepare(kind);
    const R = p.runs;
    let buf = Buffer.allocUnsafe(CHUNK);
    let pos = buf.write(csvLine(p.cols.map((c) => c.header)));
    for (const { county, n } of this.#counties(p)) {
      const rec = countyRecord(county.ssa);
      const cells = p.cols.filter((c) => c.county).map((c) => Buffer.from(csvCell(c.value(rec))));
      let cellBytes = 0;
      for (const c of cells) cellBytes += c.length;
      const { winner, list, runEnd, rowBlock, rowOffset, blocks } = p;
      for (let i = 0; i < n; i++) {
        const row = winner[list[i]];
        const block = blocks[rowBlock[row]];
        let from = rowOffset[row];
        const need = runEnd[row * R + R - 1] - from + cellBytes;
        if (pos + need > buf.length) {
          if (pos) yield buf.subarray(0, pos); // valid until the next chunk is asked for: the buffer is reused
          pos = 0;
          if (need > buf.length) buf = Buffer.allocUnsafe(need);
        }
        for (let j = 0; j < R; j++) {
          if (j > 0) {
            const c = cells[j - 1];
            for (let k = 0; k < c.length; k++) buf[pos++] = c[k];
          }
          const to = runEnd[row * R + j];
          for (let k = from; k < to; k++) buf[pos++] = block[k];
          from = to;
        }
      }
    }
    if (pos) yield buf.subarray(0, pos);
  }

  /**
   * County by county in SSA order: the county's rows as ranks in p.list[0 … n) (sorted, each rank once), the row
   * that won each rank (the first served) in p.winner. One county at a time: the scratch is reused.
   */
  *#counties(p: Prepared): Generator<{ county: County; n: number }> {
    const counties = [...this.#served.values()].sort((a, b) => (a.county.ssa < b.county.ssa ? -1 : a.county.ssa > b.county.ssa ? 1 : 0));
    const { rowStart, rowType, rowRank, seen, winner, list } = p;
    seen.fill(-1);
    for (const [c, { county, ranges }] of counties.entries()) {
      let n = 0;
      for (let r = 0; r < ranges.length; r += 2) {
        for (let i = ranges[r]; i < ranges[r + 1]; i++) {
          const pair = this.#pairs[i >>> PAIR_BLOCK_BITS][i & (PAIR_BLOCK - 1)];
          const d = pair >>> 6, t = pair & 63;
          for (let row = rowStart[d]; row < rowStart[d + 1]; row++) {
            if (rowType[row] !== t) continue;
            const k = rowRank[row];
            if (seen[k] === c) continue;
            seen[k] = c; winner[k] = row; list[n++] = k;
          }
        }
      }
      if (n === 0) continue;
      list.subarray(0, n).sort();
      yield { county, n };
    }
  }

  /** Encodes the kind's rows once (all columns but the county's) and ranks them by sort key. */
  #prepare(kind: Kind): Prepared {
    const cols = kind === 'provider' ? PROVIDER_COLUMNS : FACILITY_COLUMNS;
    const runs = cols.filter((c) => c.county).length + 1;
    const details = this.#details;
    const typeNo = new Map(this.#typeCodes.map((c, i) => [c, i]));
    // the rows: (detail, code) in the detail's code order, of this kind
    const rowStart = new Int32Array(details.length + 1);
    const typeOfCode = (d: SiteDetail, code: string): number => {
      const t = typeNo.get(rollUp(code));
      return t === undefined || (this.#ref.typeByCode.get(rollUp(code))?.category ?? d.kind) !== kind ? -1 : t;
    };
    let rows = 0;
    for (let i = 0; i < details.length; i++) {
      rowStart[i] = rows;
      for (const code of details[i].codes) if (typeOfCode(details[i], code) >= 0) rows++;
    }
    rowStart[details.length] = rows;
    const rowCode: string[] = new Array(rows);
    const rowDetail = new Int32Array(rows);
    const rowType = new Uint8Array(rows);
    for (let i = 0, r = 0; i < details.length; i++) {
      for (const code of details[i].codes) {
        const t = typeOfCode(details[i], code);
        if (t < 0) continue;
        rowCode[r] = code; rowDetail[r] = i; rowType[r] = t; r++;
      }
    }
    // ranks: sort the rows by key, equal keys share a rank
    const order = new Int32Array(rows);
    for (let i = 0; i < rows; i++) order[i] = i;
    const cmp = (a: number, b: number) => compareKeys(rowCode[a], details[rowDetail[a]], rowCode[b], details[rowDetail[b]]);
    order.sort(cmp);
    const rowRank = new Int32Array(rows);
    let ranks = 0;
    for (let i = 0; i < rows; i++) {
      if (i > 0 && cmp(order[i - 1], order[i]) !== 0) ranks++;
      rowRank[order[i]] = ranks;
    }
    if (rows) ranks++;
    // the encoded rows
    const blocks: Buffer[] = [];
    let block = Buffer.alloc(0), off = 0, stored = 0;
    const rowBlock = new Uint16Array(rows);
    const rowOffset = new Int32Array(rows);
    const runEnd = new Int32Array(rows * runs);
    const parts: string[] = new Array(runs);
    const rec = new SiteRecord();
    for (let r = 0; r < rows; r++) {
      const d = details[rowDetail[r]];
      const code = rowCode[r];
      const t = this.#ref.typeByCode.get(rollUp(code));
      rec.set(d, code, t?.name ?? '', kind === 'facility' && rollUp(code) === BED_TYPE ? d.beds : null);
      let j = 0, text = '';
      for (const [ci, c] of cols.entries()) {
        if (ci > 0) text += ',';
        if (c.county) { parts[j++] = text; text = ''; } else text += csvCell(c.value(rec));
      }
      parts[j] = text + '\n';
      let len = 0;
      for (const s of parts) len += Buffer.byteLength(s);
      if (off + len > block.length) {
        if (blocks.length === 0xffff) throw new Error('HSD table too large');
        // blocks grow from 64 KiB to ROW_BLOCK with the table (small reports stay small)
        block = Buffer.allocUnsafe(Math.max(Math.min(ROW_BLOCK, Math.max(CHUNK, stored)), len));
        stored += block.length;
        blocks.push(block);
        off = 0;
      }
      rowBlock[r] = blocks.length - 1;
      rowOffset[r] = off;
      for (let k = 0; k < runs; k++) {
        off += block.write(parts[k], off);
        runEnd[r * runs + k] = off;
      }
    }
    return {
      cols, runs, rowStart, rowType, rowRank, rowCode, rowDetail, rowBlock, rowOffset, runEnd, blocks, ranks,
      seen: new Int32Array(ranks), winner: new Int32Array(ranks), list: new Int32Array(ranks),
    };
  }
}
