// geokdbush 2 ships no types (and @types/geokdbush describes version 1, for kdbush 3).
declare module 'geokdbush' {
  import type KDBush from 'kdbush';
  export function around(index: KDBush, lng: number, lat: number, maxResults?: number, maxDistanceKm?: number, predicate?: (id: number) => boolean): number[];
  export function distance(lng1: number, lat1: number, lng2: number, lat2: number): number;
}
