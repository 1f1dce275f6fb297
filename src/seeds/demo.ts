/**
 * The demo tenant `npm start` creates on first start: the Plan-Net IG examples plus a modest synthetic directory.
 */
import fs from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../config/config.ts';
import type { AppServices } from '../fhir/services.ts';
import { listInputFiles, loadFiles, loadResources, type LoadSummary } from '../ingest/loader.ts';
import { generateDirectory } from './synthetic/generator.ts';

export const EXAMPLES_DIR = path.join(PROJECT_ROOT, 'seeds', 'plan-net-examples');

export async function loadExamples(services: AppServices, tenant: string): Promise<LoadSummary> {
  return loadFiles({ db: services.db, validator: services.validator, indexer: services.search.indexer }, listInputFiles([EXAMPLES_DIR]), { tenant });
}

export async function loadSynthetic(services: AppServices, tenant: string, practitioners: number, seed = 1, onProgress?: (n: number) => void): Promise<LoadSummary> {
  return loadResources({ db: services.db, validator: services.validator, indexer: services.search.indexer },
    generateDirectory({ practitioners, seed }), { tenant, source: 'synthetic', onProgress: onProgress ? (p) => onProgress(p.processed) : undefined });
}

/** Creates and fills the demo tenant unless it exists. Returns true if it seeded. */
export async function seedDemoTenant(services: AppServices, practitioners: number): Promise<boolean> {
  if (await services.tenants.get('demo')) return false;
  if (!fs.existsSync(EXAMPLES_DIR)) throw new Error(`Seed folder ${EXAMPLES_DIR} is missing`);
  // Load first into a fresh tenant row; concurrent starters race on create and only the winner loads.
  if (!(await services.tenants.create('demo', 'Demo Health Plan'))) return false;
  await loadExamples(services, 'demo');
  if (practitioners > 0) await loadSynthetic(services, 'demo', practitioners);
  return true;
}
