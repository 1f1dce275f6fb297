/**
 * Every registered route declares its policy in one place, and the permission matrix holds for every route:
 * anonymous, each staff role (sessions from the real session store; saml-*.test.ts signs users in through a real
 * IdP), a read-scoped client, a cruds client, and a client of another tenant (whose token is simply invalid here: 401).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, example, fhir, type TestServer } from '../helpers/server.ts';
import { buildApp } from '../../src/app.ts';
import { listRegisteredRoutes, ROUTE_TABLE, ROLES, type DeclaredRoute } from '../../src/auth/permissions.ts';
import { mintAccessToken } from '../../src/auth/smart/token-endpoint.ts';
import type { StaffSessions } from '../../src/auth/sessions/store.ts';

let srv: TestServer;
before(async () => { srv = await startTestServer(); });
after(async () => { await srv.close(); });

test('every registered route has a declared policy', () => {
  const app = buildApp(srv.services) as unknown as { router: { stack: unknown[] } };
  const registered = listRegisteredRoutes(app);
  assert.ok(registered.length >= 15, `found only ${registered.length} routes`);
  const declared = new Set(ROUTE_TABLE.map((r) => `${r.method} ${r.path.replace('$validate', ':id')}`));
  const missing = registered.filter((r) => !declared.has(`${r.method} ${r.path}`));
  assert.deepEqual(missing, [], `routes without a declared policy: ${missing.map((m) => `${m.method} ${m.path}`).join(', ')}`);
});

function concrete(route: DeclaredRoute, tenant: string): { url: string; method: string; body?: unknown } {
  const path = route.path.replace(':tenant', tenant).replace(':type', 'Organization').replace(':vid', '1').replace(':id', 'matrix-org');
  const method = route.method;
  let body: unknown;
  if (method === 'PUT') body = { ...example('Organization-Acme'), id: 'matrix-org' };
  else if (method === 'POST' && route.path.endsWith('/fhir')) body = { resourceType: 'Bundle', type: 'batch', entry: [] };
  else if (method === 'POST' && route.path.endsWith(':type')) body = example('Organization-Acme');
  else if (method === 'POST' && route.path.includes('$validate')) body = example('Organization-Acme');
  else if (method === 'POST' && route.path.endsWith('/admin/clients')) body = { name: 'x', scope: 'system/*.read', jwks_uri: 'https://example.org/jwks.json' };
  return { url: `${srv.url}${path}`, method, body };
}

test('permission matrix: every declared route × anonymous, each staff role, read client, cruds client, other tenant', async () => {
  const tenant = srv.tenant;
  await fhir(`${srv.base}/Organization/matrix-org`, { method: 'PUT', json: { ...example('Organization-Acme'), id: 'matrix-org' } });
  const base = srv.base;
  const reader = await srv.services.auth.clients.register(tenant, { name: 'reader', scopes: ['system/*.read'], jwks_uri: undefined, jwksUri: 'https://example.org/r.json' } as never);
  const writer = await srv.services.auth.clients.register(tenant, { name: 'writer', scopes: ['system/*.cruds'], jwksUri: 'https://example.org/w.json' });
  const other = await srv.newTenant('matrix-other');
  const stranger = await srv.services.auth.clients.register(other, { name: 'stranger', scopes: ['system/*.cruds'], jwksUri: 'https://example.org/s.json' });
  const tokens = {
    reader: await mintAccessToken(srv.services.auth.keys, tenant, reader.clientId, ['system/*.read'], base),
    writer: await mintAccessToken(srv.services.auth.keys, tenant, writer.clientId, ['system/*.cruds'], base),
    stranger: await mintAccessToken(srv.services.auth.keys, other, stranger.clientId, ['system/*.cruds'], `${srv.url}/t/${other}/fhir`),
  };
  // a fresh session per request: some routes (logout, session revocation) end the session they are called with
  const staffSession = async (role: string) => {
    const { token, session } = await (srv.services.sessions as StaffSessions).create(tenant, { userId: `${role}@plan.example`, roles: [role] });
    return { cookie: `plannet_session=${token}`, csrf: session.csrfToken };
  };
  const failures: string[] = [];
  const routes = ROUTE_TABLE.filter((r) => r.path.startsWith('/t/'));
  assert.ok(routes.length >= 15);
  for (const route of routes) {
    for (const who of ['anonymous', 'reader', 'writer', 'stranger', ...Object.keys(ROLES)]) {
      // DELETE last: run it on a fresh copy so later rows still find the resource
      if (route.method === 'DELETE') await fhir(`${base}/Organization/matrix-org`, { method: 'PUT', json: { ...example('Organization-Acme'), id: 'matrix-org' } });
      const req = concrete(route, tenant);
      const headers: Record<string, string> = {};
      if (who in tokens) headers.authorization = `Bearer ${tokens[who as keyof typeof tokens]}`;
      else if (who in ROLES) { const st = await staffSession(who); headers.cookie = st.cookie; headers['x-csrf-token'] = st.csrf; }
      if (route.path.endsWith('/auth/token')) continue; // its own tests cover it (form body, OAuth errors)
      const r = await fhir(req.url, { method: req.method, json: req.body, headers, anonymous: true });
      const refused = r.status === 401 || r.status === 403;
      let expectRefused: boolean;
      let expectStatus: number | undefined;
      if (who in ROLES) {
        const perms = new Set<string>(ROLES[who]);
        expectRefused = !(route.policy === 'public' || route.policy === 'directory:read' || perms.has(route.policy));
        expectStatus = expectRefused ? 403 : undefined;
      } else switch (route.policy) {
        // a credential of another tenant is refused everywhere, public routes included (it is never silently ignored)
        case 'public': expectRefused = who === 'stranger'; break;
        case 'directory:read': expectRefused = who === 'stranger'; expectStatus = who === 'stranger' ? 401 : undefined; break;
        case 'directory:write': expectRefused = who !== 'writer'; expectStatus = who === 'anonymous' || who === 'stranger' ? 401 : who === 'writer' ? undefined : 403; break;
        // bulk export: any client whose scopes let it read (the export itself is limited to the readable types)
        case 'export:run': expectRefused = who === 'anonymous' || who === 'stranger'; expectStatus = expectRefused ? 401 : undefined; break;
        default: expectRefused = true; expectStatus = who === 'anonymous' || who === 'stranger' ? 401 : 403; break; // staff-only permissions
      }
      if (refused !== expectRefused || (expectStatus !== undefined && r.status !== expectStatus)) {
        failures.push(`${route.method} ${route.path} as ${who}: ${r.status} (policy ${route.policy})`);
      }
      if (refused && route.policy !== 'public') assert.doesNotMatch(r.text, /Acme/, 'a refusal never carries data');
    }
  }
  assert.deepEqual(failures, []);
});
