/**
 * Reviewing the trail: search over a tenant's rows (keyset-paged, newest first), the FHIR R4 AuditEvent view of a
 * row, and the CSV export. Framework-free; routes.ts adapts it to Express.
 *
 * Search parameters (AND across parameters, OR within a comma-separated value):
 *   date         recorded time with prefixes (ge2026-01-01, lt2026-02-01T10:00Z, …)
 *   agent        the actor's id (client id, staff user id, system job name)
 *   agent-type   anonymous | client | staff | system
 *   altid        the anonymous network hash (abuse handling)
 *   address      the source IP of authenticated callers
 *   entity       Type/id, or a bare id
 *   entity-type  resource type
 *   action       C | R | U | D | E (FHIR AuditEvent.action)
 *   subtype      the interaction (read, search-type, create, update, delete, batch-transaction, token, admin:…)
 *   outcome      0 | 4 | 8 (success, minor failure, serious failure)
 *   request-id   the correlation id (X-Request-Id)
 *   _id          the row's sequence number
 *   _count, _cursor (paging), _format (json, or csv for the export)
 */
import type { AuditEvent, AuditEventAgent, AuditEventEntity, Bundle, Coding, Extension } from '@medplum/fhirtypes';
import type { Db } from '../storage/db.ts';
import { badRequest } from '../fhir/outcome/errors.ts';
import { parseDateRange, splitPrefix, instantCondition } from '../search/date-range.ts';
import { FHIR_ID_PATTERN } from '../storage/resource-store.ts';
import { ROW_COLUMNS, fromDbRow, type StoredRow } from './record.ts';

export type QueryPairs = [string, string][];

export const EXT = 'https://plannet-directory.example/fhir/StructureDefinition/audit';
const RESTFUL = 'http://hl7.org/fhir/restful-interaction';
const LOCAL_ACTION = 'https://plannet-directory.example/fhir/CodeSystem/audit-action';

const READ_ACTIONS = ['read', 'vread', 'search-type', 'search-system', 'history-system', 'history-type', 'history-instance',
  'capabilities', 'smart-discovery', 'jwks', 'audit-search', 'audit-read', 'audit-export'];
const CRUD_ACTIONS = ['create', 'update', 'delete', ...READ_ACTIONS];

export function fhirAction(action: string): 'C' | 'R' | 'U' | 'D' | 'E' {
  if (action === 'create') return 'C';
  if (action === 'update') return 'U';
  if (action === 'delete') return 'D';
  return READ_ACTIONS.includes(action) ? 'R' : 'E';
}

const RESTFUL_CODES: Record<string, string> = {
  read: 'read', vread: 'vread', update: 'update', delete: 'delete', create: 'create', 'search-type': 'search-type',
  'search-system': 'search-system', 'history-instance': 'history-instance', 'history-type': 'history-type',
  'history-system': 'history-system', capabilities: 'capabilities', 'batch-transaction': 'transaction',
};

export interface AuditQuery { where: string; params: unknown[]; count: number; cursor?: number; names: string[] }

const KNOWN = new Set(['date', 'agent', 'agent-type', 'altid', 'address', 'entity', 'entity-type', 'action', 'subtype', 'outcome',
  'request-id', '_id', '_count', '_cursor', '_format', '_pretty']);

export function encodeAuditCursor(seq: number): string { return Buffer.from(JSON.stringify({ s: seq })).toString('base64url'); }
function decodeAuditCursor(raw: string): number {
  try {
    const s = (JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')) as { s?: unknown }).s;
    if (typeof s === 'number' && Number.isSafeInteger(s) && s > 0) return s;
  } catch { /* below */ }
  throw badRequest('Invalid _cursor: use the next link as given', '_cursor');
}

/** Parses search parameters into SQL conditions over audit_events (the tenant condition is $1). */
export function parseAuditQuery(tenant: string, query: QueryPairs, paging: { defaultCount: number; maxCount: number }): AuditQuery {
  const params: unknown[] = [tenant];
  const add = (v: unknown) => { params.push(v); return `$${params.length}`; };
  const where = ['tenant_id = $1'];
  let count = paging.defaultCount;
  let cursor: number | undefined;
  const list = (v: string) => v.split(',').map((x) => x.trim()).filter(Boolean);
  for (const [name, value] of query) {
    if (!KNOWN.has(name)) throw badRequest(`AuditEvent search does not support the parameter "${name}"`, name);
    const values = list(value);
    if (values.length === 0 && !['_format', '_pretty'].includes(name)) throw badRequest(`Parameter ${name} needs a value`, name);
    switch (name) {
      case 'date': {
        const ors = values.map((v) => { const { prefix, value: dv } = splitPrefix(v); return instantCondition('recorded_at', prefix, parseDateRange(dv, 'date'), add); });
        where.push(`(${ors.join(' OR ')})`);
        break;
      }
      case 'agent': where.push(`actor_id = ANY(${add(values)}::text[])`); break;
      case 'agent-type':
        for (const v of values) if (!['anonymous', 'client', 'staff', 'system'].includes(v)) throw badRequest(`agent-type must be anonymous, client, staff or system, got "${v}"`, name);
        where.push(`actor_kind = ANY(${add(values)}::text[])`);
        break;
      case 'altid': where.push(`network_hash = ANY(${add(values)}::text[])`); break;
      case 'address': where.push(`source_ip = ANY(${add(values)}::text[])`); break;
      case 'entity': {
        const ors = values.map((v) => {
          const slash = v.indexOf('/');
          if (slash > 0) return `((resource_type = ${add(v.slice(0, slash))} AND ${add(v.slice(slash + 1))} = ANY(resource_ids)) OR ${add(v)} = ANY(resource_ids))`;
          return `${add(v)} = ANY(resource_ids)`;
        });
        where.push(`(${ors.join(' OR ')})`);
        break;
      }
      case 'entity-type': where.push(`resource_type = ANY(${add(values)}::text[])`); break;
      case 'action': {
        const ors = values.map((v) => {
          switch (v) {
            case 'C': return `action = 'create'`;
            case 'U': return `action = 'update'`;
            case 'D': return `action = 'delete'`;
            case 'R': return `action = ANY(${add(READ_ACTIONS)}::text[])`;
            case 'E': return `NOT (action = ANY(${add(CRUD_ACTIONS)}::text[]))`;
            default: throw badRequest(`action must be C, R, U, D or E, got "${v}"`, name);
          }
        });
        where.push(`(${ors.join(' OR ')})`);
        break;
      }
      case 'subtype': where.push(`action = ANY(${add(values.map((v) => (v === 'transaction' ? 'batch-transaction' : v)))}::text[])`); break;
      case 'outcome': {
        const codes = values.map((v) => { if (!/^(0|4|8|12)$/.test(v)) throw badRequest(`outcome must be 0, 4, 8 or 12, got "${v}"`, name); return Number(v); });
        where.push(`outcome = ANY(${add(codes)}::smallint[])`);
        break;
      }
      case 'request-id': where.push(`request_id = ANY(${add(values)}::text[])`); break;
      case '_id': {
        const seqs = values.map((v) => { if (!/^\d{1,18}$/.test(v)) throw badRequest(`_id must be a row number, got "${v}"`, name); return v; });
        where.push(`seq = ANY(${add(seqs)}::bigint[])`);
        break;
      }
      case '_count':
        if (!/^\d{1,9}$/.test(value)) throw badRequest(`_count must be a non-negative integer, got "${value}"`, name);
        count = Math.min(Number(value), paging.maxCount);
        break;
      case '_cursor': cursor = decodeAuditCursor(value); break;
      default: break; // _format, _pretty
    }
  }
  if (cursor !== undefined) where.push(`seq < ${add(cursor)}`);
  return { where: where.join(' AND '), params, count, cursor, names: [...new Set(query.map(([k]) => k))] };
}

/** One page, newest first; `next` is the cursor of the following page, if any. */
export async function searchAuditRows(db: Db, tenant: string, q: AuditQuery, limit = q.count): Promise<{ rows: StoredRow[]; next?: number }> {
  return db.withTenant(tenant, async (tx) => {
    const { rows } = await tx.query(`SELECT ${ROW_COLUMNS} FROM audit_events WHERE ${q.where} ORDER BY seq DESC LIMIT ${limit + 1}`, q.params);
    const page = rows.slice(0, limit).map(fromDbRow);
    return { rows: page, next: rows.length > limit && page.length > 0 ? page[page.length - 1].seq : undefined };
  }, { readOnly: true });
}

export async function readAuditRow(db: Db, tenant: string, seq: number): Promise<StoredRow | undefined> {
  return db.withTenant(tenant, async (tx) => {
    const { rows } = await tx.query(`SELECT ${ROW_COLUMNS} FROM audit_events WHERE tenant_id = $1 AND seq = $2`, [tenant, seq]);
    return rows[0] ? fromDbRow(rows[0]) : undefined;
  }, { readOnly: true });
}

function entityRef(type: string | null, id: string): AuditEventEntity['what'] {
  if (/^[A-Z][A-Za-z]+\/[A-Za-z0-9\-.]{1,64}$/.test(id)) return { reference: id };
  if (type && /^[A-Z][A-Za-z]+$/.test(type) && FHIR_ID_PATTERN.test(id)) return { reference: `${type}/${id}` };
  return { identifier: { value: id } };
}

export function toAuditEvent(row: StoredRow): AuditEvent {
  const r = row.record;
  const ext: Extension[] = [
    { url: `${EXT}-request-id`, valueString: r.requestId },
    { url: `${EXT}-http-status`, valueInteger: r.status },
    { url: `${EXT}-duration-ms`, valueDecimal: r.durationMs },
  ];
  if (r.method) ext.push({ url: `${EXT}-http-method`, valueCode: r.method });
  if (r.resultCount !== null) ext.push({ url: `${EXT}-result-count`, valueInteger: r.resultCount });
  if (r.userAgent) ext.push({ url: `${EXT}-user-agent`, valueString: r.userAgent });
  ext.push({ url: `${EXT}-chain`, extension: [
    { url: 'in-transaction', valueBoolean: r.inTransaction },
    { url: 'prev-hash', valueString: row.prevHash.toString('hex') },
    { url: 'hash', valueString: row.hash.toString('hex') },
  ] });
  const subtype: Coding = RESTFUL_CODES[r.action]
    ? { system: RESTFUL, code: RESTFUL_CODES[r.action] }
    : { system: LOCAL_ACTION, code: r.action };
  const agent: AuditEventAgent = {
    type: { coding: [{ system: `${EXT}-actor-kind`, code: r.actorKind }] },
    who: r.actorId ? { identifier: { system: `${EXT}-actor-${r.actorKind}`, value: r.actorId }, display: r.actorId } : { display: r.actorKind },
    requestor: true,
    ...(r.networkHash ? { altId: r.networkHash } : {}),
    ...(r.actorRoles ? { role: r.actorRoles.map((x) => ({ text: x })) } : {}),
    ...(r.sourceIp ? { network: { address: r.sourceIp, type: '2' as const } } : {}),
  };
  const entity: AuditEventEntity[] = (r.resourceIds ?? []).map((id) => ({
    what: entityRef(r.resourceType, id),
    ...(r.resourceType ? { type: { system: 'http://hl7.org/fhir/resource-types', code: r.resourceType } } : {}),
  }));
  if (r.resourceIds === null && r.resourceType) entity.push({ type: { system: 'http://hl7.org/fhir/resource-types', code: r.resourceType } });
  if (r.searchParams || r.query) {
    entity.push({
      type: { system: 'http://terminology.hl7.org/CodeSystem/audit-entity-type', code: '2', display: 'System Object' },
      role: { system: 'http://terminology.hl7.org/CodeSystem/object-role', code: '24', display: 'Query' },
      ...(r.query ? { query: Buffer.from(r.query).toString('base64') } : {}),
      ...(r.searchParams ? { detail: [{ type: 'parameter-names', valueString: r.searchParams.join(',') }] } : {}),
    });
  }
  const end = new Date(new Date(r.recordedAt).getTime() + Math.round(r.durationMs)).toISOString();
  return {
    resourceType: 'AuditEvent',
    id: String(row.seq),
    extension: ext,
    type: { system: 'http://terminology.hl7.org/CodeSystem/audit-event-type', code: 'rest', display: 'RESTful Operation' },
    subtype: [subtype],
    action: fhirAction(r.action),
    period: { start: r.recordedAt, end },
    recorded: r.recordedAt,
    outcome: String(r.outcome) as AuditEvent['outcome'],
    outcomeDesc: `HTTP ${r.status}`,
    agent: [agent],
    source: {
      site: r.tenant,
      observer: { display: 'plannet-directory' },
      type: [{ system: 'http://terminology.hl7.org/CodeSystem/security-source-type', code: '3', display: 'Web Server' }],
    },
    ...(entity.length ? { entity } : {}),
  };
}

export function searchBundle(baseUrl: string, query: QueryPairs, page: { rows: StoredRow[]; next?: number }): Bundle {
  const keep = query.filter(([k]) => k !== '_cursor');
  const url = (extra: QueryPairs) => { const qs = new URLSearchParams([...keep, ...extra]).toString(); return `${baseUrl}/AuditEvent${qs ? `?${qs}` : ''}`; };
  const cursor = query.find(([k]) => k === '_cursor')?.[1];
  const link = [{ relation: 'self', url: url(cursor ? [['_cursor', cursor]] : []) }];
  if (page.next !== undefined) link.push({ relation: 'next', url: url([['_cursor', encodeAuditCursor(page.next)]]) });
  return {
    resourceType: 'Bundle',
    type: 'searchset',
    link,
    entry: page.rows.map((row) => ({ fullUrl: `${baseUrl}/AuditEvent/${row.seq}`, resource: toAuditEvent(row), search: { mode: 'match' } })),
  };
}

export const CSV_COLUMNS = ['seq', 'recorded', 'tenant', 'request_id', 'actor_kind', 'actor_id', 'actor_roles', 'action', 'fhir_action',
  'method', 'resource_type', 'resource_ids', 'search_params', 'query', 'status', 'outcome', 'duration_ms', 'result_count',
  'source_ip', 'user_agent', 'network_hash', 'in_transaction', 'prev_hash', 'hash'];

/** A CSV cell: quoted when needed; text that a spreadsheet would run as a formula is prefixed with '. */
function cell(v: unknown): string {
  if (v === null || v === undefined) return '';
  let s = Array.isArray(v) ? v.join(' ') : String(v);
  if (typeof v === 'string' || Array.isArray(v)) { if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`; }
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function csvLine(row: StoredRow): string {
  const r = row.record;
  return [row.seq, r.recordedAt, r.tenant, r.requestId, r.actorKind, r.actorId, r.actorRoles, r.action, fhirAction(r.action), r.method,
    r.resourceType, r.resourceIds, r.searchParams, r.query, r.status, r.outcome, r.durationMs, r.resultCount, r.sourceIp, r.userAgent,
    r.networkHash, r.inTransaction, row.prevHash.toString('hex'), row.hash.toString('hex')].map(cell).join(',') + '\r\n';
}
