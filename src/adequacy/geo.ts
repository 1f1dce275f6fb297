/**
 * Geography: great-circle distance, county shapes (us-atlas TopoJSON via topojson-client), centroids computed from
 * the shapes (d3-geo), and deterministic sample beneficiary points inside each county polygon.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { feature } from 'topojson-client';
import { geoBounds, geoCentroid } from 'd3-geo';
import type { Feature, MultiPolygon, Polygon } from 'geojson';
import type { County } from './reference.ts';

export const EARTH_RADIUS_MILES = 3958.7613;
export const KM_PER_MILE = 1.609344;

/** Great-circle distance in statute miles (haversine, mean Earth radius). */
export function haversineMiles(lat1: number, lon1: number, lat2: number, lon2: number): number {
  const r = Math.PI / 180;
  const dLat = (lat2 - lat1) * r;
  const dLon = (lon2 - lon1) * r;
  const a = Math.sin(dLat / 2) ** 2 + Math.cos(lat1 * r) * Math.cos(lat2 * r) * Math.sin(dLon / 2) ** 2;
  return 2 * EARTH_RADIUS_MILES * Math.asin(Math.min(1, Math.sqrt(a)));
}

export type CountyShape = Feature<Polygon | MultiPolygon, { name?: string }> & { id: string };

let shapes: Map<string, CountyShape> | undefined;

/** County polygons keyed by 5-digit FIPS (us-atlas counties-10m, 2017 Census boundaries). */
export function countyShapes(): Map<string, CountyShape> {
  if (shapes) return shapes;
  const require = createRequire(import.meta.url);
  const topo = JSON.parse(readFileSync(require.resolve('us-atlas/counties-10m.json'), 'utf8'));
  const fc = feature(topo, topo.objects.counties) as unknown as { features: CountyShape[] };
  shapes = new Map();
  for (const f of fc.features) shapes.set(String(f.id).padStart(5, '0'), { ...f, id: String(f.id).padStart(5, '0') });
  return shapes;
}

let states: Feature[] | undefined;
export function stateShapes(): Feature[] {
  if (states) return states;
  const require = createRequire(import.meta.url);
  const topo = JSON.parse(readFileSync(require.resolve('us-atlas/states-10m.json'), 'utf8'));
  states = (feature(topo, topo.objects.states) as unknown as { features: Feature[] }).features;
  return states;
}

/** Centroid [lon, lat] computed from the county's shape. */
export function centroidOf(shape: CountyShape): [number, number] { return geoCentroid(shape) as [number, number]; }

function inRing(ring: number[][], x: number, y: number): boolean {
  let inside = false;
  for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
    const xi = ring[i][0], yi = ring[i][1], xj = ring[j][0], yj = ring[j][1];
    if ((yi > y) !== (yj > y) && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

/** Planar (lon/lat) point-in-polygon with holes; county polygons are small enough for this to be exact in practice. */
export function containsPoint(shape: CountyShape, lon: number, lat: number): boolean {
  const polys = shape.geometry.type === 'Polygon' ? [shape.geometry.coordinates] : shape.geometry.coordinates;
  for (const poly of polys) {
    if (!inRing(poly[0], lon, lat)) continue;
    let hole = false;
    for (let k = 1; k < poly.length; k++) if (inRing(poly[k], lon, lat)) { hole = true; break; }
    if (!hole) return true;
  }
  return false;
}

/** Small, fast, seedable PRNG (mulberry32). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function seedOf(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return h >>> 0;
}

export interface SamplePoint { lat: number; lon: number; weight: number }

/** How many sample points a county gets: scaled from its Medicare beneficiaries (1 per 1,000), between 20 and 100. */
export function sampleCount(beneficiaries: number): number {
  return Math.max(20, Math.min(100, Math.ceil(beneficiaries / 1000)));
}

/**
 * Deterministic sample beneficiary points inside the county polygon (rejection sampling in its bounding box, seeded
 * by FIPS). Each point stands for beneficiaries / n people. Without a shape, the points fall back to the centroid
 * of the data (not possible here: returns an empty list and the caller reports the county).
 */
export function samplePoints(county: County, shape: CountyShape | undefined, n = sampleCount(county.beneficiaries), enrollees?: number): SamplePoint[] {
  if (!shape) return [];
  const rnd = mulberry32(seedOf(`adequacy:${county.fips}`));
  const [[w, s], [e, nn]] = geoBounds(shape);
  const west = w, east = e < w ? e + 360 : e; // antimeridian (Aleutians)
  const pts: SamplePoint[] = [];
  const weight = (enrollees ?? county.beneficiaries) / n;
  let tries = 0;
  while (pts.length < n && tries < n * 500) {
    tries++;
    let lon = west + rnd() * (east - west);
    const lat = s + rnd() * (nn - s);
    if (lon > 180) lon -= 360;
    if (containsPoint(shape, lon, lat)) pts.push({ lat: round6(lat), lon: round6(lon), weight });
  }
  if (pts.length === 0) {
    const [lon, lat] = centroidOf(shape);
    for (let i = 0; i < n; i++) pts.push({ lat: round6(lat), lon: round6(lon), weight });
  }
  return pts;
}

export function round6(x: number): number { return Math.round(x * 1e6) / 1e6; }
