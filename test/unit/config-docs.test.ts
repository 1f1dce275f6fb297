/**
 * Every environment variable the service reads is listed in README.md's configuration table, so operators have one
 * place to look (variables the code only sets for child processes, such as PG* for pg_dump, are not reads).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';

const ROOT = path.resolve(import.meta.dirname, '..', '..');

function sources(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? sources(p) : e.name.endsWith('.ts') ? [p] : [];
  });
}

test('README lists every environment variable the service reads', () => {
  const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const read = new Set<string>();
  for (const file of sources(path.join(ROOT, 'src'))) {
    const text = fs.readFileSync(file, 'utf8');
    for (const m of text.matchAll(/\benv\.([A-Z][A-Z0-9_]+)\b(?!\s*=[^=])/g)) read.add(m[1]);
  }
  const setForChildren = new Set(['PGHOST', 'PGPORT', 'PGUSER', 'PGDATABASE', 'PGPASSWORD', 'PGSSLMODE']);
  const missing = [...read].filter((v) => !setForChildren.has(v) && !readme.includes(`\`${v}\``)).sort();
  assert.ok(read.size > 30, `found only ${read.size} variables`);
  assert.deepEqual(missing, [], `not in README's configuration table: ${missing.join(', ')}`);
});
