/**
 * The binary COPY reader the export's big scan uses (src/jobs/export/copy-rows.ts), against the real PostgreSQL:
 * every row and byte as a plain query returns them, with rows that span stream chunks, multi-byte text, empty strings
 * and NULLs; an abort stops the stream and closes the connection (never left mid-COPY for the pool).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { copyBinaryRows } from '../../src/jobs/export/copy-rows.ts';

let srv: TestServer;
before(async () => { srv = await startTestServer(); });
after(async () => { await srv.close(); });

const SQL = `SELECT g::text AS n,
    CASE WHEN g % 97 = 0 THEN NULL WHEN g % 89 = 0 THEN '' WHEN g % 1000 = 7 THEN repeat('é✓😀x', 50000) ELSE 'row ' || g || ' ' || repeat('ü', g % 300) END AS body
  FROM generate_series(1, 20000) AS g`;

test('COPY binary rows equal the plain query, byte for byte, across chunk boundaries', { timeout: 60_000 }, async () => {
  const client = await srv.services.db.pool.connect();
  try {
    const expected = (await client.query(SQL)).rows as { n: string; body: string | null }[];
    const got: [string, string | null][] = [];
    let batches = 0;
    for await (const rows of copyBinaryRows(client, SQL)) {
      batches++;
      for (const [n, body] of rows) got.push([n!.toString('utf8'), body === null ? null : body!.toString('utf8')]);
    }
    assert.ok(batches > 10, `many chunks (${batches})`);
    assert.equal(got.length, expected.length);
    for (let i = 0; i < expected.length; i++) {
      assert.equal(got[i][0], expected[i].n);
      assert.equal(got[i][1], expected[i].body, `row ${i + 1}`);
    }
    assert.ok(got.some(([, b]) => b === null) && got.some(([, b]) => b === '') && got.some(([, b]) => (b?.length ?? 0) > 100_000));
  } finally {
    client.release();
  }
});

test('an abort stops the COPY with the abort reason and closes the connection, so it is never reused mid-COPY', { timeout: 60_000 }, async () => {
  const client = await srv.services.db.pool.connect();
  try {
    await client.query('BEGIN');
    const ac = new AbortController();
    let seen = 0;
    await assert.rejects(async () => {
      for await (const rows of copyBinaryRows(client, SQL, ac.signal)) {
        seen += rows.length;
        if (seen > 1000) ac.abort(new Error('cancelled by the test'));
      }
    }, /cancelled by the test/);
    assert.ok(seen > 1000 && seen < 20000, `stopped early (${seen})`);
    // the connection is closed: a query fails at once instead of waiting behind the unfinished COPY
    await assert.rejects(client.query('ROLLBACK'));
  } finally {
    client.release(true);
  }
  // the pool hands out a working connection afterwards
  assert.equal((await srv.services.db.pool.query('SELECT 1 AS one')).rows[0].one, 1);
});
