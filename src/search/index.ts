/** The search engine the service uses. */
import { BasicSearchEngine, type SearchEngine } from './engine.ts';

export function createSearchEngine(): SearchEngine {
  return new BasicSearchEngine();
}
