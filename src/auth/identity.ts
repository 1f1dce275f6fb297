/**
 * Who is calling. Set by the authentication middleware (anonymous until proven otherwise) and read by permission
 * checks, audit and logging.
 */
export type Identity =
  | { kind: 'anonymous' }
  /** A SMART Backend Services client holding an access token for one tenant. */
  | { kind: 'client'; tenant: string; clientId: string; scopes: string[]; tokenId: string }
  /** A health-plan staff user signed in through the tenant's SAML IdP. */
  | { kind: 'staff'; tenant: string; userId: string; roles: string[]; sessionId: string }
  /** Background work (export and adequacy jobs, seeds, CLIs). */
  | { kind: 'system'; name: string };

export const ANONYMOUS: Identity = Object.freeze({ kind: 'anonymous' });

export function actorId(i: Identity): string | undefined {
  switch (i.kind) {
    case 'anonymous': return undefined;
    case 'client': return i.clientId;
    case 'staff': return i.userId;
    case 'system': return i.name;
  }
}
