/**
 * FHIR search dates: a value with a precision is a range ([start, end)), and prefixes compare ranges.
 * `2024` means all of 2024, `2024-03-05T10:00` the whole minute; a dateTime without a zone is read as UTC.
 */
import { badRequest } from '../fhir/outcome/errors.ts';

export type DatePrefix = 'eq' | 'ne' | 'lt' | 'gt' | 'ge' | 'le' | 'sa' | 'eb' | 'ap';
const PREFIXES = new Set<DatePrefix>(['eq', 'ne', 'lt', 'gt', 'ge', 'le', 'sa', 'eb', 'ap']);

export interface DateRange { start: Date; end: Date /* exclusive */ }

const DATE_RE = /^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})?)?)?)?$/;

export function parseDateRange(value: string, param: string): DateRange {
  const m = DATE_RE.exec(value);
  if (!m) throw badRequest(`Parameter ${param}: "${value}" is not a FHIR date (YYYY, YYYY-MM, YYYY-MM-DD or a dateTime)`, param);
  const [, y, mo, d, h, mi, s, frac, tz] = m;
  const year = Number(y), month = mo ? Number(mo) - 1 : 0, day = d ? Number(d) : 1;
  if (month > 11 || day < 1 || day > 31 || (h && (Number(h) > 23 || Number(mi) > 59 || (s && Number(s) > 59)))) {
    throw badRequest(`Parameter ${param}: "${value}" is not a valid date`, param);
  }
  const offsetMin = tz && tz !== 'Z' ? (tz[0] === '-' ? -1 : 1) * (Number(tz.slice(1, 3)) * 60 + Number(tz.slice(4, 6))) : 0;
  const ms = frac ? Math.floor(Number(frac) * 1000) : 0;
  const startUtc = Date.UTC(year, month, day, h ? Number(h) : 0, mi ? Number(mi) : 0, s ? Number(s) : 0, ms) - offsetMin * 60_000;
  const start = new Date(startUtc);
  if (start.getUTCDate() !== day && !h) throw badRequest(`Parameter ${param}: "${value}" is not a valid date`, param);
  let end: Date;
  if (!mo) end = new Date(Date.UTC(year + 1, 0, 1));
  else if (!d) end = new Date(Date.UTC(year, month + 1, 1));
  else if (!h) end = new Date(Date.UTC(year, month, day + 1));
  else if (!s) end = new Date(startUtc + 60_000);
  else if (!frac) end = new Date(startUtc + 1_000);
  else end = new Date(startUtc + 1);
  return { start, end };
}

export function splitPrefix(raw: string): { prefix: DatePrefix; value: string } {
  const p = raw.slice(0, 2) as DatePrefix;
  if (/^[a-z]{2}/.test(raw) && PREFIXES.has(p)) return { prefix: p, value: raw.slice(2) };
  return { prefix: 'eq', value: raw };
}

/**
 * SQL condition comparing a stored range [lo, hi) (column expressions) with a search range under a prefix.
 * Returns SQL with two placeholders filled by `add` (which returns `$n`).
 */
export function dateCondition(lo: string, hi: string, prefix: DatePrefix, r: DateRange, add: (v: unknown) => string): string {
  const s = () => add(r.start.toISOString());
  const e = () => add(r.end.toISOString());
  switch (prefix) {
    case 'eq': return `(${lo} >= ${s()} AND ${hi} <= ${e()})`;
    case 'ne': return `NOT (${lo} >= ${s()} AND ${hi} <= ${e()})`;
    case 'gt': return `${hi} > ${e()}`;
    case 'lt': return `${lo} < ${s()}`;
    case 'ge': return `${hi} > ${s()}`;
    case 'le': return `${lo} < ${e()}`;
    case 'sa': return `${lo} >= ${e()}`;
    case 'eb': return `${hi} <= ${s()}`;
    case 'ap': {
      // "approximately": within 10% of the distance to now, at least a day either side
      const span = Math.max(Math.abs(Date.now() - r.start.getTime()) * 0.1, 86_400_000);
      return `(${hi} > ${add(new Date(r.start.getTime() - span).toISOString())} AND ${lo} < ${add(new Date(r.end.getTime() + span).toISOString())})`;
    }
  }
}

/** The same comparison against a single instant column (e.g. last_updated), written so a B-tree index serves it. */
export function instantCondition(col: string, prefix: DatePrefix, r: DateRange, add: (v: unknown) => string): string {
  const s = () => add(r.start.toISOString());
  const e = () => add(r.end.toISOString());
  switch (prefix) {
    case 'eq': return `(${col} >= ${s()} AND ${col} < ${e()})`;
    case 'ne': return `(${col} < ${s()} OR ${col} >= ${e()})`;
    case 'gt': case 'sa': return `${col} >= ${e()}`;
    case 'lt': case 'eb': return `${col} < ${s()}`;
    case 'ge': return `${col} >= ${s()}`;
    case 'le': return `${col} < ${e()}`;
    case 'ap': {
      const span = Math.max(Math.abs(Date.now() - r.start.getTime()) * 0.1, 86_400_000);
      return `(${col} >= ${add(new Date(r.start.getTime() - span).toISOString())} AND ${col} < ${add(new Date(r.end.getTime() + span).toISOString())})`;
    }
  }
}
