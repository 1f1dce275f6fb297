/**
 * Downloads decrypted on the download thread (src/security/decrypt-thread.ts) through shared-memory slots: the bytes
 * are exact at every size around the chunk, with many downloads at once and with a consumer that holds each chunk a
 * while before using it (a slot must not be refilled before the socket's write callback); a forged chunk fails the
 * download without any of its bytes going out; a client that goes away stops the thread; a file deleted after the
 * request opened it still downloads whole; and every slot comes back.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { Keyring, parseMasterKey } from '../../src/security/envelope.ts';
import { EncryptedFileStorage } from '../../src/security/file-storage.ts';
import { LocalFileStorage } from '../../src/jobs/storage/local.ts';
import { DecryptThread } from '../../src/security/decrypt-thread.ts';
import { FILE_CHUNK } from '../../src/security/stream.ts';

const ring = new Keyring(parseMasterKey(randomBytes(32).toString('base64'), 'test'));
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'decrypt-thread-'));
test.after(() => fs.rmSync(dir, { recursive: true, force: true }));
const thread = new DecryptThread();
const store = new EncryptedFileStorage(new LocalFileStorage(dir), ring, { downloads: thread });

async function put(key: string, data: Buffer): Promise<void> {
  const w = await store.createWriter(key);
  for (let off = 0; off < data.length; off += 256 * 1024) await w.write(data.subarray(off, off + 256 * 1024));
  await w.close();
}

/** A consumer that copies each chunk only after `delayMs` (as a socket would, later), then calls back. */
function collector(delayMs = 0, stopAfter = Infinity): { out: Writable; received: () => Buffer } {
  const parts: Buffer[] = [];
  let n = 0;
  const out = new Writable({
    write(chunk: Buffer, _enc, cb) {
      if (++n > stopAfter) { this.destroy(); cb(); return; }
      setTimeout(() => { parts.push(Buffer.from(chunk)); cb(); }, delayMs);
    },
  });
  return { out, received: () => Buffer.concat(parts) };
}

async function allSlotsBack(): Promise<void> {
  for (let i = 0; i < 100 && thread.freeSlots !== thread.totalSlots; i++) await new Promise((r) => setTimeout(r, 10));
  assert.equal(thread.active, 0, 'no download left');
  assert.equal(thread.freeSlots, thread.totalSlots, 'every slot back in the pool');
}

test('bytes are exact at every size around the chunk, one download at a time', async () => {
  for (const size of [0, 1, FILE_CHUNK - 1, FILE_CHUNK, FILE_CHUNK + 1, 3 * FILE_CHUNK + 5]) {
    const data = randomBytes(size);
    await put(`f${size}`, data);
    const f = (await store.open(`f${size}`))!;
    assert.equal(f.size, size);
    const c = collector();
    await f.sendTo!(c.out);
    assert.ok(c.received().equals(data), `${size} bytes`);
    await allSlotsBack();
  }
});

test('many downloads at once, with consumers slower than the thread, all exact (no slot refilled before its write callback)', async () => {
  const files = Array.from({ length: 6 }, (_, i) => ({ key: `many${i}`, data: randomBytes(4 * FILE_CHUNK + 1000 * i) }));
  for (const f of files) await put(f.key, f.data);
  await Promise.all(files.map(async ({ key, data }, i) => {
    const c = collector(i % 2 ? 5 : 0);
    await (await store.open(key))!.sendTo!(c.out);
    assert.ok(c.received().equals(data), key);
  }));
  await allSlotsBack();
});

test('a consumer that takes its time: no slot is refilled before the write callback says the bytes were taken', async () => {
  const data = randomBytes(8 * FILE_CHUNK + 3);
  await put('slow', data);
  const c = collector(20);
  await (await store.open('slow'))!.sendTo!(c.out);
  assert.ok(c.received().equals(data));
  await allSlotsBack();
});

test('a forged chunk fails the download before any of its bytes go out', async () => {
  const data = randomBytes(3 * FILE_CHUNK);
  await put('forged', data);
  const file = path.join(dir, 'forged');
  const bytes = fs.readFileSync(file);
  bytes[bytes.length - 2 * (FILE_CHUNK + 16) + 100] ^= 1; // inside the second sealed chunk
  fs.writeFileSync(file, bytes);
  const c = collector();
  await assert.rejects((await store.open('forged'))!.sendTo!(c.out), /unable to authenticate|auth/i);
  assert.ok(c.out.destroyed, 'the response is cut off');
  assert.ok(c.received().equals(data.subarray(0, c.received().length)) && c.received().length <= FILE_CHUNK, 'only the first, genuine chunk went out');
  await allSlotsBack();
});

test('a client that goes away stops the download; the thread lets go of the file', async () => {
  await put('gone', randomBytes(8 * FILE_CHUNK));
  const c = collector(1, 1);
  await assert.rejects((await store.open('gone'))!.sendTo!(c.out), (e: NodeJS.ErrnoException) => e.code === 'ERR_STREAM_PREMATURE_CLOSE');
  await allSlotsBack();
});

test('a file deleted after the request opened it still downloads whole (the thread reads the request\'s descriptor)', async () => {
  const data = randomBytes(2 * FILE_CHUNK + 7);
  await put('deleted', data);
  const f = (await store.open('deleted'))!;
  fs.rmSync(path.join(dir, 'deleted'));
  const c = collector();
  await f.sendTo!(c.out);
  assert.ok(c.received().equals(data));
  await allSlotsBack();
});
