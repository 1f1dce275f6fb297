/**
 * The console's Loads section (directory:write):
 *   GET  /loads       the upload form, and the tenant's recent loads (table console_loads: every instance's)
 *   GET  /loads/:id   one stored load: its state, loaded per type and the first rejections
 *   POST /loads   one file, as a multipart form (no script: the answer is the page with the summary) or as the raw body
 *                 (static/loads.js: `?name=`, X-CSRF-Token; with `Accept: application/x-ndjson` the answer streams
 *                 progress lines, then the summary)
 * The upload is streamed to a temporary file under the size limit (MAX_BODY_BYTES), then loaded by the CLI's own
 * loader (src/ingest/loader.ts: validation, batches, per-resource rejections that never stop the rest) in this
 * request; see docs/adr/0010-console.md for why not a job. CSRF: the session resolver checks X-CSRF-Token, or the
 * multipart body's first field `_csrf` (src/auth/sessions/multipart-csrf.ts).
 */
import fs from 'node:fs';
import { type ConsoleKit, noteResource } from '../kit.ts';
import { FhirError } from '../../fhir/outcome/errors.ts';
import { loadFiles, type LoadSummary } from '../../ingest/loader.ts';
import { notFound } from '../../fhir/outcome/errors.ts';
import { loadPage, loadsPage, summaryFragment, LOADS_PATH } from './pages.ts';
import { getLoad, recentLoads, startLoad } from './tracker.ts';
import { receiveUpload, type ReceivedFile } from './upload.ts';

export function mountLoadPages(kit: ConsoleKit): void {
  const { services, route, page, staffOnly } = kit;
  const limit = services.config.maxBodyBytes;

  route('get', LOADS_PATH, 'console:loads', 'directory:write', async (req, res, tenant) => {
    const s = staffOnly(req, res, tenant);
    if (!s) return;
    page(res, 200, loadsPage({ tenant: tenant.id, title: 'Data loads', session: s, types: kit.types, csrfToken: s.csrfToken, limit, recent: await recentLoads(services.db, tenant.id) }));
  });

  route('get', `${LOADS_PATH}/:id`, 'console:load-details', 'directory:write', async (req, res, tenant) => {
    const s = staffOnly(req, res, tenant);
    if (!s) return;
    const id = String(req.params.id);
    noteResource(id);
    const load = await getLoad(services.db, tenant.id, id);
    if (!load) throw notFound(`No load ${id} in this directory`);
    page(res, 200, loadPage({ tenant: tenant.id, title: `Load of ${load.file}`, session: s, types: kit.types, load }));
  });

  route('post', LOADS_PATH, 'console:load', 'directory:write', async (req, res, tenant) => {
    const s = staffOnly(req, res, tenant);
    if (!s) return;
    const streaming = /application\/x-ndjson/.test(req.get('accept') ?? '');
    const send = (o: object) => { res.write(JSON.stringify(o) + '\n'); };
    let file: ReceivedFile;
    try {
      file = await receiveUpload(req, limit);
    } catch (err) {
      if (!(err instanceof FhirError) || err.status >= 500) throw err;
      if (streaming) { res.status(err.status).type('application/x-ndjson'); send({ type: 'error', status: err.status, message: err.message }); res.end(); return; }
      page(res, err.status, loadsPage({ tenant: tenant.id, title: 'Data loads', session: s, types: kit.types, csrfToken: s.csrfToken, limit, recent: await recentLoads(services.db, tenant.id), error: err.message }));
      return;
    }
    let rec: Awaited<ReturnType<typeof startLoad>>;
    try {
      rec = await startLoad(services.db, tenant.id, { user: s.name ?? s.userId, file: file.name, bytes: file.bytes },
        { onError: (err) => services.logger.warn({ err, tenant: tenant.id }, 'console load: progress not recorded') });
    } catch (err) {
      await fs.promises.rm(file.dir, { recursive: true, force: true });
      throw err;
    }
    if (streaming) {
      res.status(200).set({ 'Content-Type': 'application/x-ndjson; charset=utf-8', 'X-Content-Type-Options': 'nosniff' });
      send({ type: 'received', name: file.name, bytes: file.bytes });
    }
    let summary: LoadSummary;
    try {
      summary = await loadFiles({ db: services.db, validator: services.validator, indexer: services.search.indexer }, [file.path], {
        tenant: tenant.id, warningsAsErrors: tenant.settings.strictValidation === true,
        onProgress: (p) => {
          rec.progress(p);
          if (streaming) send({ type: 'progress', processed: p.processed, loaded: p.loaded, rejected: p.rejected });
        },
      });
    } catch (err) {
      await rec.fail((err as Error).message).catch((e) => services.logger.error({ err: e, tenant: tenant.id }, 'console load: failure not recorded'));
      services.logger.error({ err, tenant: tenant.id }, 'console load failed');
      if (!streaming) throw err;
      send({ type: 'error', status: 500, message: 'The load stopped on a server error; records of batches already committed are stored. See the server log.' });
      res.end();
      return;
    } finally {
      await fs.promises.rm(file.dir, { recursive: true, force: true });
    }
    // the loader names each record's place by the temporary file's path: show the uploaded file's name instead
    for (const r of summary.rejected) r.source = r.source.split(file.path).join(file.name);
    const loaded = Object.values(summary.loaded).reduce((a, b) => a + b, 0);
    await rec.complete(summary);
    const fragment = summaryFragment(file, summary);
    if (streaming) {
      send({ type: 'summary', loaded, rejected: summary.rejected.length, warnings: summary.warnings, html: fragment.value });
      res.end();
      return;
    }
    page(res, 200, loadsPage({ tenant: tenant.id, title: 'Data loads: summary', session: s, types: kit.types, csrfToken: s.csrfToken, limit, recent: await recentLoads(services.db, tenant.id), result: fragment }));
  });
}
