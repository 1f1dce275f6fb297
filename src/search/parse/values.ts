/**
 * Splitting and parsing search values: commas (OR) and pipes honour backslash escapes (`\,` `\|` `\$` `\\`), and every
 * malformed value is a 400 that names the parameter.
 */
import { badRequest } from '../../fhir/outcome/errors.ts';
import { parseDateRange, splitPrefix, type DatePrefix, type DateRange } from '../date-range.ts';

/** Splits on an unescaped separator, keeping escapes (so later splits still see them). */
export function splitEscaped(value: string, sep: string): string[] {
  const out: string[] = [];
  let cur = '';
  for (let i = 0; i < value.length; i++) {
    const ch = value[i];
    if (ch === '\\' && i + 1 < value.length) { cur += ch + value[i + 1]; i++; continue; }
    if (ch === sep) { out.push(cur); cur = ''; continue; }
    cur += ch;
  }
  out.push(cur);
  return out;
}

export function unescape(value: string): string {
  return value.replace(/\\([\\,|$])/g, '$1');
}

/** The comma-separated alternatives of a parameter value (OR). Empty alternatives are a 400. */
export function orValues(raw: string, param: string): string[] {
  const parts = splitEscaped(raw, ',');
  if (parts.some((p) => p === '')) throw badRequest(`Parameter ${param}: empty value${parts.length > 1 ? ' in a comma-separated list' : ''}`, param);
  return parts;
}

export interface TokenValue { system?: string | null; code?: string }

/** `code`, `system|code`, `|code` (no system) or `system|` (any code in the system). */
export function parseToken(raw: string, param: string): TokenValue {
  const parts = splitEscaped(raw, '|');
  if (parts.length > 2) throw badRequest(`Parameter ${param}: "${raw}" is not a token (use code, system|code, |code or system|)`, param);
  if (parts.length === 1) return { code: unescape(parts[0]) };
  const [system, code] = parts.map(unescape);
  if (system === '' && code === '') throw badRequest(`Parameter ${param}: "${raw}" is not a token`, param);
  return { system: system === '' ? null : system, code: code === '' ? undefined : code };
}

/** `:of-type` value: `type-system|type-code|identifier-value`. */
export function parseOfType(raw: string, param: string): { system: string | null; code: string; value: string } {
  const parts = splitEscaped(raw, '|').map(unescape);
  if (parts.length !== 3 || !parts[1] || !parts[2]) throw badRequest(`Parameter ${param}:of-type: "${raw}" must be type-system|type-code|value`, param);
  return { system: parts[0] || null, code: parts[1], value: parts[2] };
}

export interface DateValue { prefix: DatePrefix; range: DateRange }

export function parseDate(raw: string, param: string, comparators: string[]): DateValue {
  const { prefix, value } = splitPrefix(raw);
  if (/^[a-z]{2}/.test(raw) && prefix === 'eq' && !raw.startsWith('eq')) throw badRequest(`Parameter ${param}: unknown prefix "${raw.slice(0, 2)}" (use eq ne gt ge lt le sa eb ap)`, param);
  if (comparators.length && !comparators.includes(prefix)) throw badRequest(`Parameter ${param}: prefix ${prefix} is not supported`, param);
  return { prefix, range: parseDateRange(value, param) };
}

export function parseBoolean(raw: string, param: string): boolean {
  if (raw === 'true') return true;
  if (raw === 'false') return false;
  throw badRequest(`Parameter ${param}: "${raw}" must be true or false`, param);
}

const METERS: Record<string, number> = { km: 1000, m: 1, mi: 1609.344, '[mi_i]': 1609.344, '[mi_us]': 1609.347, mi_i: 1609.344, ft: 0.3048, '[ft_i]': 0.3048 };
export const DEFAULT_NEAR_KM = 50;

/** `near=lat|lon|distance|units` (units default km; distance default DEFAULT_NEAR_KM km). */
export function parseNear(raw: string, param: string): { lat: number; lon: number; meters: number } {
  const parts = raw.split('|');
  const num = (s: string | undefined) => (s !== undefined && s.trim() !== '' && Number.isFinite(Number(s)) ? Number(s) : NaN);
  const lat = num(parts[0]), lon = num(parts[1]);
  if (parts.length > 4 || !(Math.abs(lat) <= 90) || !(Math.abs(lon) <= 180)) {
    throw badRequest(`Parameter ${param}: "${raw}" must be latitude|longitude|distance|units (e.g. 41.76|-72.68|10|mi)`, param);
  }
  const units = parts[3] ?? 'km';
  const factor = METERS[units || 'km'];
  if (factor === undefined) throw badRequest(`Parameter ${param}: unknown distance unit "${units}" (use km, m, mi or [mi_i])`, param);
  const dist = parts[2] === undefined || parts[2] === '' ? DEFAULT_NEAR_KM * 1000 / factor : num(parts[2]);
  if (!(dist >= 0)) throw badRequest(`Parameter ${param}: distance "${parts[2]}" must be a non-negative number`, param);
  return { lat, lon, meters: dist * factor };
}
