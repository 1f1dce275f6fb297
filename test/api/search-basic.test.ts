/**
 * The foundation's search: _id, _lastUpdated (prefixes, partial dates), _count, _summary=count, _total, cursor paging
 * that stays correct while data changes, GET and POST _search alike.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, example, fhir, type TestServer } from '../helpers/server.ts';

let srv: TestServer;
let base: string;
before(async () => {
  srv = await startTestServer();
  base = `${srv.url}/t/${await srv.newTenant('sb')}/fhir`;
  const org = example('Organization-Acme');
  for (let i = 0; i < 12; i++) await fhir(`${base}/Organization/o${String(i).padStart(2, '0')}`, { method: 'PUT', json: { ...org, id: `o${String(i).padStart(2, '0')}` } });
});
after(async () => { await srv.close(); });

async function crawl(url: string): Promise<string[]> {
  const ids: string[] = [];
  for (let next: string | undefined = url; next;) {
    const page = await fhir(next);
    assert.equal(page.status, 200, page.text);
    assert.equal(page.body.type, 'searchset');
    ids.push(...(page.body.entry ?? []).filter((e: any) => e.search.mode === 'match').map((e: any) => e.resource.id));
    next = page.body.link.find((l: any) => l.relation === 'next')?.url;
  }
  return ids;
}

test('_id with comma = OR', async () => {
  const r = await fhir(`${base}/Organization?_id=o01,o03,nope`);
  assert.deepEqual(r.body.entry.map((e: any) => e.resource.id).sort(), ['o01', 'o03']);
  assert.ok(r.body.entry.every((e: any) => e.fullUrl === `${base}/Organization/${e.resource.id}`));
});

test('_lastUpdated prefixes and partial dates', async () => {
  const all = (await fhir(`${base}/Organization?_count=100`)).body.entry;
  const t = all[5].resource.meta.lastUpdated as string;
  const gt = await crawl(`${base}/Organization?_lastUpdated=gt${encodeURIComponent(t)}&_count=100`);
  const le = await crawl(`${base}/Organization?_lastUpdated=le${encodeURIComponent(t)}&_count=100`);
  assert.equal(gt.length + le.length, 12);
  assert.ok(!gt.includes(all[5].resource.id) && le.includes(all[5].resource.id));
  const year = new Date().getUTCFullYear();
  assert.equal((await crawl(`${base}/Organization?_lastUpdated=${year}&_count=100`)).length, 12);
  assert.equal((await crawl(`${base}/Organization?_lastUpdated=lt2000`)).length, 0);
  assert.equal((await crawl(`${base}/Organization?_lastUpdated=ge2000-01&_lastUpdated=lt2000-02`)).length, 0, 'repeated = AND');
  assert.equal((await crawl(`${base}/Organization?_lastUpdated=lt2000,gt2001`)).length, 12, 'comma = OR');
});

test('_summary=count and _total', async () => {
  const c = await fhir(`${base}/Organization?_summary=count`);
  assert.equal(c.body.total, 12);
  assert.equal(c.body.entry, undefined);
  assert.equal((await fhir(`${base}/Organization?_total=accurate&_count=1`)).body.total, 12);
  assert.equal((await fhir(`${base}/Organization?_count=1`)).body.total, undefined);
});

test('cursor paging: no duplicates and no gaps for unchanged rows while writes happen', async () => {
  const seen: string[] = [];
  let next: string | undefined = `${base}/Organization?_count=4`;
  let page = 0;
  while (next) {
    const r = await fhir(next);
    seen.push(...(r.body.entry ?? []).map((e: any) => e.resource.id));
    next = r.body.link.find((l: any) => l.relation === 'next')?.url;
    if (page++ === 0) {
      // a new resource and an update to one already seen, mid-crawl
      await fhir(`${base}/Organization/zz-new`, { method: 'PUT', json: { ...example('Organization-Acme'), id: 'zz-new' } });
      await fhir(`${base}/Organization/${seen[0]}`, { method: 'PUT', json: { ...example('Organization-Acme'), id: seen[0], name: 'moved' } });
    }
  }
  const unchanged = Array.from({ length: 12 }, (_, i) => `o${String(i).padStart(2, '0')}`);
  for (const id of unchanged) assert.ok(seen.includes(id), `${id} missing`);
  assert.equal(seen.filter((id) => id !== seen[0]).length, new Set(seen.filter((id) => id !== seen[0])).size, 'no duplicates among unchanged rows');
  assert.ok(!/offset/i.test(JSON.stringify(seen)));
});

test('POST _search (form) answers like GET', async () => {
  const get = await fhir(`${base}/Organization?_id=o02,o04&_count=10`);
  const post = await fhir(`${base}/Organization/_search`, { method: 'POST', body: '_id=o02,o04&_count=10', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
  assert.equal(post.status, 200, post.text);
  assert.deepEqual(post.body.entry.map((e: any) => e.resource.id), get.body.entry.map((e: any) => e.resource.id));
});

test('_count is capped and 0 gives no entries', async () => {
  const zero = await fhir(`${base}/Organization?_count=0`);
  assert.equal(zero.body.entry, undefined);
  const r = await fhir(`${base}/Organization?_count=100000`);
  assert.equal(r.status, 200);
});
