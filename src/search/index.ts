/** The search engine the service uses: SearchParameter-driven, indexed at write time (see search-engine.ts). */
import type { SearchEngine } from './engine.ts';
import { RegistrySearchEngine } from './search-engine.ts';

export function createSearchEngine(): SearchEngine & RegistrySearchEngine {
  return new RegistrySearchEngine();
}
