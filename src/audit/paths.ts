/**
 * What a tenant URL is, from its shape alone: the route template for logs, and — for requests refused before a
 * handler ran (401, 403, 404 tenant, 429, 400 parse errors) — the action and the resource the audit row names.
 */
import { FHIR_ID_PATTERN } from '../storage/resource-store.ts';

export interface PathInfo { route: string; action: string; resourceType: string | null; resourceIds: string[] | null }

const TYPE = /^[A-Z][A-Za-z]{1,63}$/;

export function describePath(method: string, path: string): PathInfo {
  const m = /^\/t\/[^/]+(\/.*)?$/.exec(path);
  const rest = m?.[1] ?? '';
  const info = (route: string, action: string, type?: string, id?: string): PathInfo => ({
    route: `${method} /t/:tenant${route}`,
    action,
    resourceType: type && TYPE.test(type) ? type : null,
    resourceIds: id && FHIR_ID_PATTERN.test(id) ? [id] : null,
  });
  if (!rest.startsWith('/fhir') || (rest.length > 5 && rest[5] !== '/')) {
    const seg = rest.split('/').filter(Boolean);
    if (seg[0] === 'admin') return info(`/admin/${seg[1] ?? ''}${seg.length > 2 ? '/:id' : ''}`, `admin:${method.toLowerCase()}`);
    if (seg[0] === 'auth') return info(`/auth/${seg[1] ?? ''}`, seg[1] === 'token' ? 'token' : 'auth');
    return info('/…', 'unknown');
  }
  const s = rest.slice(5).split('/').filter(Boolean).map((x) => { try { return decodeURIComponent(x); } catch { return x; } });
  const get = method === 'GET' || method === 'HEAD';
  if (s.length === 0) return info('/fhir', method === 'POST' ? 'batch-transaction' : 'unknown');
  if (s[0] === 'metadata') return info('/fhir/metadata', 'capabilities');
  if (s[0] === '_history') return info('/fhir/_history', 'history-system');
  if (s[0] === '.well-known') return info(`/fhir/.well-known/${s[1] ?? ''}`, 'smart-discovery');
  const [type, second, third] = s;
  if (s.length === 1) return info('/fhir/:type', get ? 'search-type' : method === 'POST' ? 'create' : 'unknown', type);
  if (second === '_search') return info('/fhir/:type/_search', 'search-type', type);
  if (second === '_history') return info('/fhir/:type/_history', 'history-type', type);
  if (second.startsWith('$')) return info(`/fhir/:type/${/^\$[a-z-]{1,64}$/.test(second) ? second : '$op'}`, /^\$[a-z-]{1,64}$/.test(second) ? `operation:${second.slice(1)}` : 'operation', type);
  if (s.length === 2) return info('/fhir/:type/:id', get ? 'read' : method === 'PUT' ? 'update' : method === 'DELETE' ? 'delete' : 'unknown', type, second);
  if (third === '_history') return s.length === 3 ? info('/fhir/:type/:id/_history', 'history-instance', type, second) : info('/fhir/:type/:id/_history/:vid', 'vread', type, second);
  return info('/fhir/…', 'unknown', type, second);
}
