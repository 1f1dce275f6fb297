import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';

test('runs on Node 24 LTS (the pinned `node` package), not the machine Node', () => {
  assert.match(process.version, /^v24\./);
});

test('package.json pins Node 24 and requires it in engines', () => {
  const pkg = JSON.parse(fs.readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
  assert.equal(pkg.engines.node, '>=24');
  assert.match(pkg.devDependencies.node, /^\^?24\./);
});
