/**
 * npm run saml -- configure --tenant <id> --metadata <idp-metadata.xml | url> [--role-attribute groups]
 *                           [--role-map "idp-group=role,…"] [--user-attribute uid] [--idp-entity-id <id>] [--want-response-signed]
 * npm run saml -- show --tenant <id>
 * npm run saml -- sessions --tenant <id>
 * npm run saml -- revoke --tenant <id> --user <user-id>
 */
import fs from 'node:fs';
import { parse, runCli, withDatabase, UsageError } from './common.ts';
import { TenantRegistry } from '../tenancy/tenants.ts';
import { SamlConfigError, SamlConfigStore, describeConfig, resolveConfigInput } from '../auth/saml/idp-config.ts';
import { StaffSessions } from '../auth/sessions/store.ts';
import { ROLES } from '../auth/permissions.ts';

const USAGE = `Usage:
  npm run saml -- configure --tenant <id> --metadata <idp-metadata.xml | https://…> [--role-attribute groups]
                            [--role-map "idp-group=role,…"] [--user-attribute <attr>] [--idp-entity-id <id>]
                            [--want-response-signed]
      Configure the tenant's SAML identity provider from its metadata (a file, or a URL fetched once) and map the
      values of an IdP attribute (default: groups) to roles (${Object.keys(ROLES).join(', ')}). A value may map to
      several roles ("plan-admins=admin,plan-admins=auditor"); values not in the map grant nothing, and a user
      with no role cannot sign in. --user-attribute names the attribute holding a stable user id (default: the
      NameID). Re-running replaces what is given and keeps the rest. Passwords and MFA live at the IdP.
  npm run saml -- show --tenant <id>
      Print the tenant's IdP configuration and the SP endpoints to register at the IdP.
  npm run saml -- sessions --tenant <id>
      List live staff sessions.
  npm run saml -- revoke --tenant <id> --user <user-id>
      End every session of a user at once.`;

runCli(async () => {
  const { values, positionals } = parse(process.argv.slice(2), {
    tenant: { type: 'string', short: 't' }, metadata: { type: 'string' }, 'role-attribute': { type: 'string' }, 'role-map': { type: 'string' },
    'user-attribute': { type: 'string' }, 'idp-entity-id': { type: 'string' }, 'want-response-signed': { type: 'boolean' }, user: { type: 'string' },
  }, USAGE);
  const [cmd] = positionals;
  if (!cmd) throw new UsageError(USAGE);
  if (!['configure', 'show', 'sessions', 'revoke'].includes(cmd)) throw new UsageError(`Unknown command "${cmd}"\n\n${USAGE}`);
  if (!values.tenant) throw new UsageError(`--tenant is required\n\n${USAGE}`);
  if (cmd === 'revoke' && !values.user) throw new UsageError('revoke needs --user <user-id>');
  let metadataXml: string | undefined;
  let metadataUrl: string | undefined;
  if (cmd === 'configure') {
    if (values.metadata === undefined) {
      if (values['role-map'] === undefined && values['role-attribute'] === undefined && values['user-attribute'] === undefined && !values['want-response-signed']) {
        throw new UsageError('configure needs --metadata <file | url> (or, for a tenant already configured, the options to change)');
      }
    } else if (/^https?:\/\//i.test(values.metadata)) metadataUrl = values.metadata;
    else {
      try { metadataXml = fs.readFileSync(values.metadata, 'utf8'); } catch (e) { throw new Error(`Cannot read IdP metadata from ${values.metadata}: ${(e as Error).message}`); }
    }
  }
  await withDatabase(async ({ db }, config) => {
    const tenant = values.tenant!;
    if (!(await new TenantRegistry(db).get(tenant))) throw new Error(`Tenant "${tenant}" does not exist. Create it with: npm run tenant -- create ${tenant}`);
    const configs = new SamlConfigStore(db, 0);
    const base = config.publicBaseUrl ?? '';
    const sp = `${base}/t/${tenant}/auth/saml`;
    const printSp = () => {
      console.log(`SP entity id / metadata: ${sp}/metadata`);
      console.log(`ACS (HTTP-POST):         ${sp}/acs`);
      console.log(`Sign-in:                 ${sp}/login`);
      if (!base) console.log('(Set PUBLIC_BASE_URL so these are absolute and the SP entity id does not depend on the Host header.)');
    };
    if (cmd === 'configure') {
      const previous = await configs.get(tenant);
      if (!previous && metadataXml === undefined && metadataUrl === undefined) throw new UsageError('The tenant has no IdP yet: give --metadata');
      try {
        const saved = await configs.put(await resolveConfigInput(tenant, {
          metadataXml, metadataUrl, idpEntityId: values['idp-entity-id'], roleAttribute: values['role-attribute'], roleMap: values['role-map'],
          userAttribute: values['user-attribute'], wantResponseSigned: values['want-response-signed'] ? true : undefined,
        }, previous));
        const d = describeConfig(saved);
        console.log(`Configured SAML sign-in for tenant ${tenant}: IdP ${d.idp_entity_id}`);
        console.log(`IdP SSO URL: ${d.sso_url}`);
        for (const c of d.certificates) console.log(`IdP signing certificate: ${c.subject.replace(/\n/g, ', ')} (SHA-256 ${c.sha256}, expires ${c.not_after})`);
        console.log(`Roles from attribute "${d.role_attribute}": ${Object.entries(d.role_map).map(([g, r]) => `${g} → ${r.join('+')}`).join(', ') || '(no mapping yet: nobody can sign in)'}`);
        printSp();
      } catch (e) {
        if (e instanceof SamlConfigError) throw new UsageError(e.message);
        throw e;
      }
    } else if (cmd === 'show') {
      const c = await configs.get(tenant);
      if (!c) console.log(`Tenant ${tenant} has no SAML IdP configured.`);
      else console.log(JSON.stringify(describeConfig(c), null, 2));
      printSp();
    } else if (cmd === 'sessions') {
      const list = await new StaffSessions(db, config).list(tenant);
      if (!list.length) console.log('No live sessions.');
      for (const s of list) console.log(`${s.sessionId}\t${s.userId}\t${s.roles.join(',')}\tsince ${s.createdAt.toISOString()}\tidle until ${s.idleExpiresAt.toISOString()}`);
    } else {
      const n = await new StaffSessions(db, config).revokeUser(tenant, values.user!);
      console.log(`Ended ${n} session(s) of ${values.user} in tenant ${tenant}`);
    }
  });
});
