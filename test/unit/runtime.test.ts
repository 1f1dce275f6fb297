import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';

test('runs on Node 24 LTS (the pinned `node` package), not the machine Node', () => {
  assert.match(process.version, /^v24\./);
  assert.ok(Number(process.versions.node.split('.')[1]) >= 16, 'Node 24.16 or later (crypto.randomUUIDv7)');
});

test('package.json pins Node 24 and requires it in engines', () => {
  const pkg = JSON.parse(fs.readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
  assert.equal(pkg.engines.node, '>=24.16'); // crypto.randomUUIDv7 (request ids) arrived in 24.16
  assert.match(pkg.devDependencies.node, /^\^?24\./);
});
