import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseDateRange, splitPrefix } from '../../src/search/date-range.ts';
import { FhirError } from '../../src/fhir/outcome/errors.ts';

test('partial dates become ranges', () => {
  const y = parseDateRange('2024', 'd');
  assert.equal(y.start.toISOString(), '2024-01-01T00:00:00.000Z');
  assert.equal(y.end.toISOString(), '2025-01-01T00:00:00.000Z');
  const m = parseDateRange('2024-02', 'd');
  assert.equal(m.end.toISOString(), '2024-03-01T00:00:00.000Z');
  const d = parseDateRange('2024-02-29', 'd');
  assert.equal(d.end.toISOString(), '2024-03-01T00:00:00.000Z');
  const t = parseDateRange('2024-02-29T10:15:00+02:00', 'd');
  assert.equal(t.start.toISOString(), '2024-02-29T08:15:00.000Z');
  assert.equal(t.end.toISOString(), '2024-02-29T08:15:01.000Z');
});

test('malformed dates are 400s naming the parameter', () => {
  for (const bad of ['not-a-date', '2024-13', '2023-02-30', '2024-01-01T25:00', '20240101']) {
    assert.throws(() => parseDateRange(bad, '_lastUpdated'), (e: unknown) => e instanceof FhirError && e.status === 400 && /_lastUpdated/.test(e.message), bad);
  }
});

test('prefixes are split off only when they are FHIR prefixes', () => {
  assert.deepEqual(splitPrefix('ge2024'), { prefix: 'ge', value: '2024' });
  assert.deepEqual(splitPrefix('2024'), { prefix: 'eq', value: '2024' });
  assert.deepEqual(splitPrefix('xx2024'), { prefix: 'eq', value: 'xx2024' });
});
