/**
 * What a SearchParameter expression yields for extraction: FHIR values with their data type. Two evaluators produce
 * them: the fhirpath library (any expression) and fast-path.ts (the simple path subset most definitions use, about
 * 5× faster on the write path); both go through `toNode`, which unwraps Extensions to their value[x].
 */

export interface Node { data: unknown; type: string }

const PRIMITIVES = new Set(['boolean', 'integer', 'string', 'decimal', 'uri', 'url', 'canonical', 'base64Binary', 'instant', 'date',
  'dateTime', 'time', 'code', 'oid', 'id', 'markdown', 'unsignedInt', 'positiveInt', 'uuid', 'integer64']);

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Guesses a complex type from its shape, for values the model could not type (e.g. BackboneElements). */
function shapeType(d: Obj): string {
  if ('coding' in d || ('text' in d && Object.keys(d).length === 1)) return 'CodeableConcept';
  if ('reference' in d || ('identifier' in d && 'type' in d && !('system' in d))) return 'Reference';
  if ('start' in d || 'end' in d) return 'Period';
  if ('latitude' in d || 'longitude' in d) return 'Position';
  if ('family' in d || 'given' in d) return 'HumanName';
  if ('city' in d || 'line' in d || 'postalCode' in d || 'state' in d || 'country' in d) return 'Address';
  if ('code' in d && ('system' in d || 'display' in d)) return 'Coding';
  if ('value' in d && 'system' in d && typeof d.system === 'string' && /^(phone|fax|email|pager|url|sms|other)$/.test(d.system)) return 'ContactPoint';
  if ('value' in d) return 'Identifier';
  return 'Element';
}

/** The value of an Extension (`value[x]`) with the type its key names. */
export function extensionValue(ext: Obj): Node | undefined {
  for (const k in ext) {
    if (k.length > 5 && k.startsWith('value')) {
      const suffix = k.slice(5);
      const lower = suffix[0].toLowerCase() + suffix.slice(1);
      return { data: ext[k], type: PRIMITIVES.has(lower) ? lower : suffix };
    }
  }
  return undefined;
}

/** A value with a (possibly unknown) model type → Node; Extensions become their value. */
export function typedNode(data: unknown, type: string | undefined): Node | undefined {
  if (data === null || data === undefined) return undefined;
  if (type?.startsWith('System.')) type = type === 'System.Boolean' ? 'boolean' : 'string';
  if (isObj(data) && (type === 'Extension' || (type === undefined && typeof data.url === 'string' && Object.keys(data).some((k) => k.startsWith('value'))))) {
    return extensionValue(data);
  }
  if (!type || type === 'BackboneElement' || type === 'Element') type = isObj(data) ? shapeType(data) : typeof data === 'boolean' ? 'boolean' : 'string';
  return { data, type };
}

/** A fhirpath library result item → Node. */
export function fromFhirpath(raw: unknown): Node | undefined {
  if (isObj(raw) && 'parentResNode' in raw && 'data' in raw) {
    // a ResourceNode: the raw JSON plus the type the R4 model gives it
    return typedNode(raw.data, (raw.fhirNodeDataType as string | null) ?? undefined);
  }
  if (isObj(raw) && Object.getPrototypeOf(raw) !== Object.prototype) {
    // a computed fhirpath value (FP_DateTime, FP_Quantity, ...): its string form
    return { data: String(raw), type: 'string' };
  }
  return typedNode(raw, undefined);
}
