/**
 * The services a FHIR request needs, built once by the composition root (main.ts / tests) and passed down.
 * Domain code takes these and plain values; it never sees Express's req/res.
 */
import type { Config } from '../config/config.ts';
import type { Db } from '../storage/db.ts';
import type { TenantRegistry, Tenant } from '../tenancy/tenants.ts';
import type { SearchEngine } from '../search/engine.ts';
import type { ResourceValidator } from '../validation/validator.ts';
import type { Logger } from '../observability/logger.ts';
import type { ClientRegistry } from '../auth/smart/clients.ts';
import type { SigningKeys } from '../auth/smart/keys.ts';
import type { SessionResolver } from '../auth/authenticate.ts';
import type { RateLimiters } from '../http/rate-limit.ts';

export interface AppServices {
  config: Config;
  db: Db;
  tenants: TenantRegistry;
  validator: ResourceValidator;
  search: SearchEngine;
  logger: Logger;
  auth: { clients: ClientRegistry; keys: SigningKeys };
  rateLimiters: RateLimiters;
  /** Staff sessions (SAML sign-in), when configured. */
  sessions?: SessionResolver;
}

/** One FHIR request's context: who the tenant is and the absolute base URL links are built from. */
export interface FhirContext {
  services: AppServices;
  tenant: Tenant;
  baseUrl: string;
  /** Prefer: handling=strict */
  strict: boolean;
  /** Prefer: return=minimal | representation | OperationOutcome */
  preferReturn: 'minimal' | 'representation' | 'OperationOutcome';
}

/** What an interaction answers, independent of the HTTP framework (batch entries reuse it). */
export interface FhirResponse {
  status: number;
  headers: Record<string, string>;
  /** Serialized body (a resource, Bundle or OperationOutcome), if any. */
  json?: string;
}
