/**
 * The download decryption thread (started by decrypt-thread.ts): for each download, reads the file's sealed chunks
 * (O_DIRECT, its own aligned window), checks and decrypts each, and copies the plaintext into a shared-memory slot the
 * main thread granted; the main thread writes the slot to the socket and grants it back. Many downloads run here at
 * once, each its own async loop. Nothing of a chunk whose tag fails is copied out.
 */
import { createSecretKey } from 'node:crypto';
import { parentPort } from 'node:worker_threads';
import { AlignedFileReader } from '../jobs/storage/direct-io.ts';
import { SealedChunks } from './stream.ts';
import { SLOT_BYTES, SLOTS_PER_MEMORY, type FromDecryptThread, type ToDecryptThread, type DecryptJob } from './decrypt-thread.ts';

const port = parentPort!;
const post = (m: FromDecryptThread) => port.postMessage(m);
const memories: Buffer[] = [];
const slotView = (slot: number) => memories[Math.floor(slot / SLOTS_PER_MEMORY)]!.subarray((slot % SLOTS_PER_MEMORY) * SLOT_BYTES, (slot % SLOTS_PER_MEMORY + 1) * SLOT_BYTES);

interface Session { grants: number[]; cancelled: boolean; wake: (() => void) | undefined }
const sessions = new Map<number, Session>();

port.on('message', (m: ToDecryptThread) => {
  if (m.kind === 'memory') { memories[m.index] = Buffer.from(m.memory); return; }
  if (m.kind === 'open') { void run(m.job, m.slots); return; }
  const s = sessions.get(m.id);
  if (m.kind === 'grant') {
    if (!s) { post({ kind: 'closed', id: m.id, unused: [m.slot] }); return; } // it ended while the grant was on its way
    s.grants.push(m.slot);
  } else if (s) s.cancelled = true;
  s?.wake?.();
});

async function nextSlot(s: Session): Promise<number | undefined> {
  while (!s.cancelled && s.grants.length === 0) await new Promise<void>((r) => { s.wake = r; });
  s.wake = undefined;
  return s.cancelled ? undefined : s.grants.shift();
}

async function run(job: DecryptJob, slots: number[]): Promise<void> {
  const s: Session = { grants: [...slots], cancelled: false, wake: undefined };
  sessions.set(job.id, s);
  const reader = AlignedFileReader.onDescriptor(job.fd, job.size, job.direct);
  try {
    const chunks = new SealedChunks(reader, createSecretKey(Buffer.from(job.key)), Buffer.from(job.prefix), job.start, job.chunk);
    for (;;) {
      const slot = await nextSlot(s);
      if (slot === undefined) break;
      let next;
      try { next = await chunks.next(); } catch (e) { s.grants.unshift(slot); throw e; } // the slot goes back unused
      post({ kind: 'chunk', id: job.id, slot, length: next.plain.copy(slotView(slot)), final: next.final });
      if (next.final) break;
    }
  } catch (e) {
    post({ kind: 'error', id: job.id, message: (e as Error).message });
  } finally {
    sessions.delete(job.id);
    await reader.close().catch(() => {});
    post({ kind: 'closed', id: job.id, unused: s.grants });
  }
}
