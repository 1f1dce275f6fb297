/**
 * npm run client -- register --tenant <id> --name <name> --scope "<scopes>" (--jwks <file> | --jwks-uri <url>)
 * npm run client -- list --tenant <id>
 * npm run client -- revoke --tenant <id> <client-id>
 * `register` prints the new client id as its last line.
 */
import fs from 'node:fs';
import { parse, runCli, withDatabase, UsageError } from './common.ts';
import { TenantRegistry } from '../tenancy/tenants.ts';
import { ClientRegistry, ClientRegistrationError } from '../auth/smart/clients.ts';

const USAGE = `Usage:
  npm run client -- register --tenant <id> --name <name> --scope "<scopes>" (--jwks <file> | --jwks-uri <url>)
      Register a SMART Backend Services client. Scopes are SMART system scopes, e.g. "system/*.read" or
      "system/Practitioner.rs system/Location.rs". --jwks is a file holding the client's public JWKS.
      Prints the new client id as the last line.
  npm run client -- list --tenant <id>
  npm run client -- revoke --tenant <id> <client-id>
      Revoke a client; its live access tokens stop working at once.
  npm run client -- rotate-signing-key --tenant <id>
      Start signing access tokens with a new key; the old one verifies live tokens until they expire.`;

runCli(async () => {
  const { values, positionals } = parse(process.argv.slice(2), {
    tenant: { type: 'string', short: 't' }, name: { type: 'string' }, scope: { type: 'string' }, jwks: { type: 'string' }, 'jwks-uri': { type: 'string' },
  }, USAGE);
  const [cmd, arg] = positionals;
  if (!cmd) throw new UsageError(USAGE);
  if (!['register', 'list', 'revoke', 'rotate-signing-key'].includes(cmd)) throw new UsageError(`Unknown command "${cmd}"\n\n${USAGE}`);
  if (!values.tenant) throw new UsageError(`--tenant is required\n\n${USAGE}`);
  let jwks: unknown;
  if (cmd === 'register') {
    if (!values.name) throw new UsageError('--name is required');
    if (!values.scope) throw new UsageError('--scope is required, e.g. --scope "system/*.read"');
    if ((values.jwks === undefined) === (values['jwks-uri'] === undefined)) throw new UsageError('Give exactly one of --jwks <file> or --jwks-uri <url>');
    if (values.jwks) {
      try { jwks = JSON.parse(fs.readFileSync(values.jwks, 'utf8')); } catch (e) { throw new Error(`Cannot read a JWKS from ${values.jwks}: ${(e as Error).message}`); }
    }
  }
  await withDatabase(async ({ db }, config) => {
    if (!(await new TenantRegistry(db).get(values.tenant!))) throw new Error(`Tenant "${values.tenant}" does not exist. Create it with: npm run tenant -- create ${values.tenant}`);
    const clients = new ClientRegistry(db, { production: config.production });
    if (cmd === 'register') {
      try {
        const c = await clients.register(values.tenant!, { name: values.name!, scopes: values.scope!.split(/\s+/).filter(Boolean), jwks, jwksUri: values['jwks-uri'] });
        console.log(`Registered client "${c.name}" for tenant ${c.tenant} with scopes: ${c.scopes.join(' ')}`);
        console.log(`Token endpoint: /t/${c.tenant}/auth/token (discovery: /t/${c.tenant}/fhir/.well-known/smart-configuration)`);
        console.log(c.clientId);
      } catch (e) {
        if (e instanceof ClientRegistrationError) throw new UsageError(e.message);
        throw e;
      }
    } else if (cmd === 'list') {
      const list = await clients.list(values.tenant!);
      if (!list.length) console.log('No clients registered.');
      for (const c of list) console.log(`${c.clientId}\t${c.name}\t${c.scopes.join(' ')}\t${c.revokedAt ? `revoked ${c.revokedAt}` : 'active'}`);
    } else if (cmd === 'rotate-signing-key') {
      const { SigningKeys } = await import('../auth/smart/keys.ts');
      console.log(`New signing key for tenant ${values.tenant}: ${await new SigningKeys(db).rotate(values.tenant!)}`);
    } else {
      if (!arg) throw new UsageError('revoke needs a client id');
      if (!(await clients.revoke(values.tenant!, arg))) { console.error(`No active client ${arg} in tenant ${values.tenant}`); process.exitCode = 1; return; }
      console.log(`Revoked ${arg}`);
    }
  });
});
