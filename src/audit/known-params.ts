/**
 * Which query parameter names an anonymous caller's audit row may keep: the search and result parameters the server
 * supports for the type. Anything else (a name or address typed where a parameter name goes) is not kept.
 */
import { RESULT_PARAMS, type SearchEngine } from '../search/engine.ts';

const ALWAYS = new Set(['_id', '_lastUpdated', '_since', '_at', '_has', '_type', '_text', '_content', '_list', '_query', '_filter', '_security', '_tag', '_profile', '_source']);

export function knownSearchParam(engine: Pick<SearchEngine, 'supportedParams'>): (resourceType: string | null, name: string) => boolean {
  const cache = new Map<string, Set<string>>();
  return (resourceType, name) => {
    const base = name.split(/[:.]/)[0];
    if (RESULT_PARAMS.has(base) || ALWAYS.has(base)) return true;
    if (!resourceType) return false;
    let names = cache.get(resourceType);
    if (!names) {
      try { names = new Set(engine.supportedParams(resourceType).map((p) => p.name)); } catch { names = new Set(); }
      if (cache.size < 500) cache.set(resourceType, names);
    }
    return names.has(base);
  };
}
