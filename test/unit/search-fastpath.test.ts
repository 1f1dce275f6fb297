/**
 * The fast-path evaluator must give exactly what the fhirpath library gives, for every registered SearchParameter on
 * the IG examples and a synthetic directory; expressions outside its subset must be left to fhirpath.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import fhirpath from 'fhirpath';
import r4 from 'fhirpath/fhir-context/r4';
import { compileFastPath } from '../../src/search/registry/fast-path.ts';
import { fromFhirpath } from '../../src/search/registry/nodes.ts';
import { readSearchParameterFiles } from '../../src/search/registry/registry.ts';
import { generateDirectory } from '../../src/seeds/synthetic/generator.ts';

const EXAMPLES = path.resolve(import.meta.dirname, '..', '..', 'seeds', 'plan-net-examples');
const resources: any[] = [
  ...fs.readdirSync(EXAMPLES).map((f) => JSON.parse(fs.readFileSync(path.join(EXAMPLES, f), 'utf8'))),
  ...(generateDirectory({ practitioners: 120, seed: 4 }) as Iterable<any>),
];

test('fast path = fhirpath for every registered definition', () => {
  let compared = 0;
  for (const sp of readSearchParameterFiles()) {
    if (!sp.expression) continue;
    for (const type of new Set(resources.map((r) => r.resourceType))) {
      if (!(sp.base as string[]).some((b) => b === type || b === 'Resource')) continue;
      const fast = compileFastPath(sp.expression, type);
      assert.ok(fast, `${type}: ${sp.expression} should be in the fast subset`);
      const slow: (r: unknown) => unknown = fhirpath.compile(sp.expression, r4 as never, { resolveInternalTypes: false });
      for (const r of resources.filter((x) => x.resourceType === type)) {
        assert.deepEqual(fast(r), (slow(r) as unknown[]).map(fromFhirpath).filter(Boolean), `${type}/${r.id}: ${sp.expression}`);
        compared++;
      }
    }
  }
  assert.ok(compared > 1000);
});

test('expressions outside the subset are left to fhirpath', () => {
  for (const e of ["Practitioner.name.where(use = 'official')", 'Observation.value', 'Practitioner.name.first()', "Practitioner.telecom.where(system='phone')", "(Practitioner.name)", 'Practitioner.name.family.substring(1)']) {
    assert.equal(compileFastPath(e, e.startsWith('Observation') ? 'Observation' : 'Practitioner'), undefined, e);
  }
  // paths for another type yield nothing rather than falling back
  assert.deepEqual(compileFastPath('Patient.name | Practitioner.name', 'Practitioner')!({ resourceType: 'Practitioner', name: [{ family: 'X' }] }), [{ data: { family: 'X' }, type: 'HumanName' }]);
});
