/**
 * Value normalization shared by the write side (index rows) and the read side (query values), so both agree on what
 * "the same string" or "the same reference" means.
 */
import { createHash } from 'node:crypto';
import { parseDateRange } from '../date-range.ts';

/** Longest normalized string kept in the index (B-tree keys must stay small); prefixes beyond it compare truncated. */
export const MAX_NORM_LENGTH = 256;

/** Case- and accent-insensitive form of a string: NFD, combining marks removed, lower case, spaces collapsed. */
export function normalizeString(s: string): string {
  const n = s.normalize('NFD').replace(/\p{M}+/gu, '').toLowerCase().replace(/\s+/g, ' ').trim();
  return n.length > MAX_NORM_LENGTH ? n.slice(0, MAX_NORM_LENGTH) : n;
}

export interface ParsedReference {
  /** Resource type ('' when unknown, e.g. urn:uuid). */
  type: string;
  /** Logical id (for unknown forms: ''). */
  id: string;
  /** Absolute URL of a reference to another server (null for a local `Type/id`). */
  url: string | null;
}

const ID = '[A-Za-z0-9\\-.]{1,64}';
const RELATIVE = new RegExp(`^([A-Z][A-Za-z]+)/(${ID})(?:/_history/[^/]+)?$`);
const ABSOLUTE = new RegExp(`^((?:https?)://.+)/([A-Z][A-Za-z]+)/(${ID})(?:/_history/[^/]+)?$`);

/** Parses a Reference.reference string; contained (`#x`) references give undefined. */
export function parseReference(ref: string): ParsedReference | undefined {
  if (!ref || ref.startsWith('#')) return undefined;
  let m = RELATIVE.exec(ref);
  if (m) return { type: m[1], id: m[2], url: null };
  m = ABSOLUTE.exec(ref);
  if (m) return { type: m[2], id: m[3], url: `${m[1]}/${m[2]}/${m[3]}` };
  return { type: '', id: '', url: ref };
}

export const NEG_INFINITY = '-infinity';
export const POS_INFINITY = 'infinity';

/** A stored date, dateTime or instant as the [lo, hi) range its precision implies; undefined if unparseable. */
export function dateValueRange(value: string): { lo: string; hi: string } | undefined {
  try {
    const r = parseDateRange(value, 'index');
    return { lo: r.start.toISOString(), hi: r.end.toISOString() };
  } catch {
    return undefined;
  }
}

/** A Period as a range; a missing start or end is open. */
export function periodRange(start: string | undefined, end: string | undefined): { lo: string; hi: string } | undefined {
  const lo = start ? dateValueRange(start)?.lo : NEG_INFINITY;
  const hi = end ? dateValueRange(end)?.hi : POS_INFINITY;
  if (lo === undefined || hi === undefined) return undefined;
  if (!start && !end) return undefined;
  return { lo, hi };
}

/**
 * The stand-in target rid of a reference whose target is not stored (yet), or lives on another server: a negative
 * 63-bit hash of `Type/id` (or of the url), so every reference is one `target_rid` whatever its state, and a search by
 * id is one index range. Real rids are positive; when the target is created the stand-in is replaced by its rid.
 */
export function unresolvedRid(key: string): string {
  const h = createHash('sha256').update(key).digest().readBigUInt64BE(0) & 0x7fffffffffffffffn;
  return String(-h - 1n);
}
