/** The search engine the service uses: SearchParameter-driven, indexed at write time (see search-engine.ts). */
import type { SearchEngine } from './engine.ts';
import { RegistrySearchEngine } from './search-engine.ts';
import { SearchParamRegistry, readSearchParameterFiles } from './registry/registry.ts';

/** `parametersDir` overrides profiles/search-parameters/ (the reindex CLI's --parameters). */
export function createSearchEngine(parametersDir?: string): SearchEngine & RegistrySearchEngine {
  return new RegistrySearchEngine(parametersDir ? new SearchParamRegistry(readSearchParameterFiles(parametersDir)) : undefined);
}
