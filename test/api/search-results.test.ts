/**
 * Result control: _count, cursor paging (next and previous) that stays correct while data changes, _sort on
 * parameters and _lastUpdated (multi-key, both directions), _total, _summary, _elements, GET = POST _search.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, example, fhir, type TestServer } from '../helpers/server.ts';

let srv: TestServer;
let base: string;
const FAMILIES = ['Adams', 'Baker', 'Clark', 'Davis', 'Evans', 'Baker', 'Adams', 'Ölund', 'Zimmer', 'clark', 'Baker', 'Young'];

function practitioner(i: number) {
  const p = example('Practitioner-HansSolo');
  return {
    ...p, id: `p${String(i).padStart(2, '0')}`,
    name: [{ family: FAMILIES[i], given: [`G${String(11 - i).padStart(2, '0')}`], text: `G ${FAMILIES[i]}` }],
    extension: [{ url: 'http://hl7.org/fhir/us/davinci-pdex-plan-net/StructureDefinition/practitioner-period', valuePeriod: { start: `20${String(10 + i)}-01-01` } }],
  };
}

before(async () => {
  srv = await startTestServer();
  base = srv.base;
  for (let i = 0; i < FAMILIES.length; i++) {
    const r = await fhir(`${base}/Practitioner/${practitioner(i).id}`, { method: 'PUT', json: practitioner(i) });
    assert.ok([200, 201].includes(r.status), r.text);
  }
});
after(async () => { await srv.close(); });

const matchIds = (body: any) => (body.entry ?? []).filter((e: any) => e.search.mode === 'match').map((e: any) => e.resource.id);
const link = (body: any, rel: string) => body.link?.find((l: any) => l.relation === rel)?.url as string | undefined;

async function crawl(url: string, onPage?: (page: number) => Promise<void>): Promise<string[]> {
  const out: string[] = [];
  let page = 0;
  for (let next: string | undefined = url; next;) {
    const r = await fhir(next);
    assert.equal(r.status, 200, r.text);
    out.push(...matchIds(r.body));
    next = link(r.body, 'next');
    await onPage?.(page++);
    assert.ok(page < 100, 'runaway paging');
  }
  return out;
}

describe('paging', () => {
  test('_count pages through everything once; default and cap come from config', async () => {
    const all = await crawl(`${base}/Practitioner?_count=5`);
    assert.equal(all.length, 12);
    assert.equal(new Set(all).size, 12);
    const dflt = await fhir(`${base}/Practitioner`);
    assert.equal(matchIds(dflt.body).length, Math.min(12, srv.config.defaultPageSize));
    assert.equal((await fhir(`${base}/Practitioner?_count=abc`)).status, 400);
    const capped = await startTestServer({ maxPageSize: 3, defaultPageSize: 2 });
    try {
      const t = capped.base;
      for (let i = 0; i < 5; i++) await fhir(`${t}/Practitioner/${practitioner(i).id}`, { method: 'PUT', json: practitioner(i) });
      assert.equal(matchIds((await fhir(`${t}/Practitioner`)).body).length, 2);
      assert.equal(matchIds((await fhir(`${t}/Practitioner?_count=1000`)).body).length, 3);
    } finally { await capped.close(); }
  });

  test('cursor links are opaque, carry no offset, and a tampered cursor is a 400', async () => {
    const r = await fhir(`${base}/Practitioner?_count=3`);
    const next = link(r.body, 'next')!;
    assert.ok(!/offset|_getpages|page=/i.test(next));
    assert.equal((await fhir(next.replace(/_cursor=[^&]+/, '_cursor=garbage'))).status, 400);
    assert.equal((await fhir(next.replace('_count=3', '_count=3&_sort=family'))).status, 400, 'a cursor belongs to its sort');
    const fmt = await fhir(`${base}/Practitioner?_count=3&_format=json`);
    assert.equal(fmt.status, 200);
    assert.match(link(fmt.body, 'next')!, /_format=json/, '_format is kept in the links');
    assert.equal(fmt.body.entry.some((e: any) => e.search.mode === 'outcome'), false, '_format is not an unknown parameter');
    assert.equal((await fhir(`${base}/Practitioner?_contained=true`, { headers: { prefer: 'handling=strict' } })).status, 400, '_contained is not supported');
  });

  test('previous links walk back to the same pages', async () => {
    const pages: string[][] = [];
    const urls: string[] = [];
    for (let next: string | undefined = `${base}/Practitioner?_count=5&family=a,b,c,d,e,z,y,o`; next;) {
      const r = await fhir(next);
      pages.push(matchIds(r.body)); urls.push(next);
      next = link(r.body, 'next');
    }
    assert.ok(pages.length >= 3);
    let r = await fhir(urls[urls.length - 1]);
    for (let i = pages.length - 2; i >= 0; i--) {
      const prev = link(r.body, 'previous');
      assert.ok(prev, `page ${i + 1} has a previous link`);
      r = await fhir(prev);
      assert.deepEqual(matchIds(r.body), pages[i], `page ${i}`);
    }
    assert.equal(link(r.body, 'previous'), undefined, 'the first page (reached backwards) has no previous link');
    assert.ok(link(r.body, 'next'));
  });

  test('a crawl stays correct while resources are created, updated and deleted', async () => {
    const extra = { ...practitioner(0), id: 'zz-late', name: [{ family: 'Late' }] };
    const seen = await crawl(`${base}/Practitioner?_count=3`, async (page) => {
      if (page === 0) {
        await fhir(`${base}/Practitioner/zz-late`, { method: 'PUT', json: extra });
        await fhir(`${base}/Practitioner/p00`, { method: 'PUT', json: { ...practitioner(0), name: [{ family: 'Changed' }] } });
        await fhir(`${base}/Practitioner/p11`, { method: 'DELETE' });
      }
    });
    const unchanged = FAMILIES.map((_, i) => practitioner(i).id).filter((id) => id !== 'p00' && id !== 'p11');
    for (const id of unchanged) assert.ok(seen.includes(id), `${id} missing`);
    assert.equal(seen.length, new Set(seen).size, 'no duplicates');
    assert.ok(!seen.includes('p11'), 'deleted before its page was read');
    await fhir(`${base}/Practitioner/p11`, { method: 'PUT', json: practitioner(11) });
    await fhir(`${base}/Practitioner/p00`, { method: 'PUT', json: practitioner(0) });
    await fhir(`${base}/Practitioner/zz-late`, { method: 'DELETE' });
  });

  test('a sorted crawl stays correct while resources change too', async () => {
    const seen = await crawl(`${base}/Practitioner?_count=4&_sort=family,-given`, async (page) => {
      if (page === 0) await fhir(`${base}/Practitioner/zz-aaa`, { method: 'PUT', json: { ...practitioner(0), id: 'zz-aaa', name: [{ family: 'Aaa' }] } });
    });
    assert.equal(seen.length, new Set(seen).size);
    for (let i = 0; i < FAMILIES.length; i++) assert.ok(seen.includes(practitioner(i).id));
    assert.ok(!seen.includes('zz-aaa'), 'sorts before the cursor: not on a later page');
    await fhir(`${base}/Practitioner/zz-aaa`, { method: 'DELETE' });
  });
});

describe('_sort', () => {
  test('by a string parameter, multi-key, both directions, across pages', async () => {
    const asc = await crawl(`${base}/Practitioner?_sort=family,given&_count=5`);
    const expected = FAMILIES.map((f, i) => ({ f: f.normalize('NFD').replace(/\p{M}/gu, '').toLowerCase(), g: `g${String(11 - i).padStart(2, '0')}`, id: practitioner(i).id }))
      .sort((a, b) => (a.f < b.f ? -1 : a.f > b.f ? 1 : a.g < b.g ? -1 : a.g > b.g ? 1 : 0)).map((x) => x.id);
    assert.deepEqual(asc, expected);
    const mixed = await crawl(`${base}/Practitioner?_sort=family,-given&_count=4`);
    const expMixed = FAMILIES.map((f, i) => ({ f: f.normalize('NFD').replace(/\p{M}/gu, '').toLowerCase(), g: `g${String(11 - i).padStart(2, '0')}`, id: practitioner(i).id }))
      .sort((a, b) => (a.f < b.f ? -1 : a.f > b.f ? 1 : a.g > b.g ? -1 : a.g < b.g ? 1 : 0)).map((x) => x.id);
    assert.deepEqual(mixed, expMixed);
    const desc = await crawl(`${base}/Practitioner?_sort=-family&_count=100`);
    assert.equal(desc[0], 'p08', 'Zimmer first');
  });
  test('by a date parameter and by _lastUpdated', async () => {
    const byPeriod = await crawl(`${base}/Practitioner?_sort=-period&_count=5`);
    assert.deepEqual(byPeriod, FAMILIES.map((_, i) => practitioner(i).id).reverse());
    await fhir(`${base}/Practitioner/p03`, { method: 'PUT', json: practitioner(3) });
    const byUpdated = await crawl(`${base}/Practitioner?_sort=-_lastUpdated&_count=5`);
    assert.equal(byUpdated[0], 'p03');
    const asc = await crawl(`${base}/Practitioner?_sort=_lastUpdated&_count=5`);
    assert.equal(asc[asc.length - 1], 'p03');
    assert.deepEqual([...asc].reverse(), byUpdated);
  });
  test('resources without the sort value come last either way; bad _sort is a 400', async () => {
    const put = await fhir(`${base}/Practitioner/nogiven`, { method: 'PUT', json: { ...practitioner(0), id: 'nogiven', name: [{ family: 'Nogiven' }] } });
    assert.ok([200, 201].includes(put.status), put.text);
    assert.equal((await crawl(`${base}/Practitioner?_sort=given&_count=5`)).at(-1), 'nogiven');
    assert.equal((await crawl(`${base}/Practitioner?_sort=-given&_count=5`)).at(-1), 'nogiven');
    await fhir(`${base}/Practitioner/nogiven`, { method: 'DELETE' });
    assert.equal((await fhir(`${base}/Practitioner?_sort=nope`)).status, 400);
    assert.equal((await fhir(`${base}/Practitioner?_sort=family,family`)).status, 400);
  });
});

describe('_total, _summary, _elements', () => {
  test('_total=none|estimate|accurate and _summary=count', async () => {
    assert.equal((await fhir(`${base}/Practitioner?family=baker&_total=accurate&_count=1`)).body.total, 3);
    assert.equal((await fhir(`${base}/Practitioner?family=baker`)).body.total, undefined);
    assert.equal((await fhir(`${base}/Practitioner?family=baker&_total=none`)).body.total, undefined);
    const est = (await fhir(`${base}/Practitioner?family=baker&_total=estimate`)).body.total;
    assert.equal(typeof est, 'number');
    assert.ok(est >= 0);
    const count = await fhir(`${base}/Practitioner?family=baker&_summary=count`);
    assert.equal(count.body.total, 3);
    assert.equal(count.body.entry, undefined);
    assert.equal((await fhir(`${base}/Practitioner?_total=maybe`)).status, 400);
  });
  test('_summary=true keeps summary elements and marks SUBSETTED; data drops text; false is whole', async () => {
    const full = (await fhir(`${base}/Practitioner?_id=p01`)).body.entry[0].resource;
    const sum = (await fhir(`${base}/Practitioner?_id=p01&_summary=true`)).body.entry[0].resource;
    assert.ok(sum.name && sum.identifier && sum.meta);
    assert.equal(sum.extension, undefined, 'extensions are not summary');
    assert.equal(sum.text, undefined);
    assert.ok(sum.meta.tag.some((t: any) => t.code === 'SUBSETTED'));
    const data = (await fhir(`${base}/Practitioner?_id=p01&_summary=data`)).body.entry[0].resource;
    assert.equal(data.text, undefined);
    assert.deepEqual(data.extension, full.extension);
    assert.deepEqual((await fhir(`${base}/Practitioner?_id=p01&_summary=false`)).body.entry[0].resource, full);
    assert.equal((await fhir(`${base}/Practitioner?_summary=maybe`)).status, 400);
  });
  test('_elements keeps the named elements (plus id and meta)', async () => {
    const r = (await fhir(`${base}/Practitioner?_id=p01&_elements=name,identifier`)).body.entry[0].resource;
    assert.deepEqual(Object.keys(r).sort(), ['id', 'identifier', 'meta', 'name', 'resourceType']);
    assert.ok(r.meta.tag.some((t: any) => t.code === 'SUBSETTED'));
    assert.equal((await fhir(`${base}/Practitioner?_elements=${encodeURIComponent('name.family')}`)).status, 400);
  });
});

describe('GET and POST _search', () => {
  test('give the same answers, links included', async () => {
    const qs = 'family=baker,adams&_sort=-given&_count=2&_total=accurate';
    const get = await fhir(`${base}/Practitioner?${qs}`);
    const post = await fhir(`${base}/Practitioner/_search`, { method: 'POST', body: qs, headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    assert.equal(post.status, 200, post.text);
    assert.deepEqual(matchIds(post.body), matchIds(get.body));
    assert.equal(post.body.total, get.body.total);
    const nextGet = await fhir(link(get.body, 'next')!);
    const nextPost = await fhir(link(post.body, 'next')!);
    assert.deepEqual(matchIds(nextPost.body), matchIds(nextGet.body));
  });
});
