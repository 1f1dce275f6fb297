/**
 * Downloads of encrypted local files, decrypted off the main thread: one thread per process (decrypt-thread-entry.ts)
 * reads and decrypts each sealed chunk into a slot of shared memory, and the main thread writes that slot to the
 * socket as it is, then grants it back.
 *
 * Why: decrypting on the main thread makes a new 1 MiB Buffer per chunk (node:crypto cannot decrypt into a given
 * buffer). That memory lives outside the JavaScript heap, and V8 answers every ~64 MB of it with a full mark-compact
 * of the API's large heap: at 1M resources `perf` put ~28 % of the API's CPU in major GC (docs/performance.md, Bulk
 * export, sixth session). The thread's heap is tiny, so its collections are cheap, and the main thread allocates
 * nothing per MiB. Same reason as the export's scan thread (ADR 12), on the download side (ADR 13).
 *
 * Slots are 1 MiB (FILE_CHUNK) in SharedArrayBuffers of SLOTS_PER_MEMORY slots, shared with the thread once. A download
 * holds up to SLOTS_PER_DOWNLOAD: one being filled while others are on their way to the client. A slot goes back to
 * the pool only after the socket's write callback, so memory the kernel has not yet copied is never overwritten.
 */
import { Worker } from 'node:worker_threads';
import type { Writable } from 'node:stream';
import { FILE_CHUNK } from './stream.ts';

export const SLOT_BYTES = FILE_CHUNK;
export const SLOTS_PER_MEMORY = 16;
const SLOTS_PER_DOWNLOAD = 3;

/** What the thread needs to stream one file: which, how it is sealed, and its data key (never the master key). */
export interface DecryptJob {
  id: number;
  /** A descriptor the caller opened and keeps open until `send` settles (threads share the process's descriptors). */
  fd: number;
  size: number;
  direct: boolean;
  key: Uint8Array;
  prefix: Uint8Array;
  /** Offset of the first sealed chunk (the header's length). */
  start: number;
  /** Plaintext bytes per chunk (≤ SLOT_BYTES). */
  chunk: number;
}

export type ToDecryptThread =
  | { kind: 'memory'; index: number; memory: SharedArrayBuffer }
  | { kind: 'open'; job: DecryptJob; slots: number[] }
  | { kind: 'grant'; id: number; slot: number }
  | { kind: 'cancel'; id: number };

export type FromDecryptThread =
  | { kind: 'chunk'; id: number; slot: number; length: number; final: boolean }
  | { kind: 'error'; id: number; message: string }
  /** The download is over on the thread's side (file closed); `unused` are the slots it had not filled. */
  | { kind: 'closed'; id: number; unused: number[] };

interface Session {
  onChunk(slot: number, length: number, final: boolean): void;
  onError(message: string): void;
}

// the entry's own extension: .ts when run from source (node strips the types), .js from the built image
const ENTRY = new URL(`./decrypt-thread-entry${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url);

export class DecryptThread {
  #worker: Worker | undefined;
  readonly #memories: SharedArrayBuffer[] = [];
  readonly #views: Buffer[] = [];
  readonly #free: number[] = [];
  readonly #sessions = new Map<number, Session>();
  /** Downloads the thread has not yet let go of (it may still read their descriptor): called when it has. */
  readonly #closing = new Map<number, () => void>();
  #nextId = 1;

  /** Downloads in progress (for tests: every download, however it ends, is forgotten). */
  get active(): number { return this.#sessions.size; }
  /** Slots not in use (for tests: every slot comes back). */
  get freeSlots(): number { return this.#free.length; }
  get totalSlots(): number { return this.#memories.length * SLOTS_PER_MEMORY; }

  #thread(): Worker {
    if (this.#worker) return this.#worker;
    // a small young generation, as the scan thread's: the thread's only garbage is each chunk's plaintext, outside the heap
    const worker = new Worker(ENTRY, { stdout: false, stderr: false, resourceLimits: { maxYoungGenerationSizeMb: 4 } });
    worker.on('message', (m: FromDecryptThread) => this.#onMessage(m));
    const gone = (why: string) => {
      if (this.#worker !== worker) return;
      this.#worker = undefined;
      // Its downloads fail. The slots it held are not reused (a few MiB, and only after a crash): nothing could tell
      // which of them a late message or write still refers to. Slots on their way to a socket come back as usual.
      for (const s of [...this.#sessions.values()]) s.onError(why);
      for (const released of this.#closing.values()) released();
      this.#closing.clear();
    };
    worker.on('error', (e) => gone(`the download thread failed: ${e.message}`));
    worker.on('exit', (code) => gone(`the download thread ended (exit code ${code})`));
    worker.unref(); // idle, the thread must not keep the process alive; `send` refs it while downloads run
    this.#worker = worker;
    this.#memories.forEach((memory, index) => worker.postMessage({ kind: 'memory', index, memory } satisfies ToDecryptThread));
    return worker;
  }

  #takeSlot(): number {
    if (this.#free.length === 0) {
      const index = this.#memories.length;
      const memory = new SharedArrayBuffer(SLOT_BYTES * SLOTS_PER_MEMORY);
      this.#memories.push(memory);
      this.#views.push(Buffer.from(memory));
      this.#worker?.postMessage({ kind: 'memory', index, memory } satisfies ToDecryptThread);
      for (let i = SLOTS_PER_MEMORY - 1; i >= 0; i--) this.#free.push(index * SLOTS_PER_MEMORY + i);
    }
    return this.#free.pop()!;
  }

  #onMessage(m: FromDecryptThread): void {
    if (m.kind === 'closed') {
      this.#free.push(...m.unused);
      this.#closing.get(m.id)?.();
      this.#closing.delete(m.id);
      return;
    }
    const s = this.#sessions.get(m.id);
    if (m.kind === 'chunk') {
      if (s) s.onChunk(m.slot, m.length, m.final); else this.#free.push(m.slot);
    } else s?.onError(m.message);
  }

  #slot(slot: number, length: number): Buffer {
    const at = (slot % SLOTS_PER_MEMORY) * SLOT_BYTES;
    return this.#views[Math.floor(slot / SLOTS_PER_MEMORY)]!.subarray(at, at + length);
  }

  /**
   * Streams a file's plaintext into `out` and ends it; resolves when `out` has finished. Rejects (and destroys `out`)
   * if a chunk is forged or the file is cut short; rejects with ERR_STREAM_PREMATURE_CLOSE if `out` closes first
   * (the client went away), after telling the thread to stop. Either way it settles only once the thread has let go
   * of the file, so the caller may then close the descriptor.
   */
  async send(file: Omit<DecryptJob, 'id'>, out: Writable): Promise<void> {
    if (file.chunk > SLOT_BYTES) throw new Error(`chunks of ${file.chunk} bytes do not fit a ${SLOT_BYTES}-byte slot`);
    const worker = this.#thread();
    const id = this.#nextId++;
    const released = new Promise<void>((r) => this.#closing.set(id, r));
    worker.ref();
    const outcome = new Promise<void>((resolve, reject) => {
      let settled = false;
      let streaming = true; // until the final chunk, an error, or the end of `out`
      const finish = (err?: Error) => {
        if (settled) return;
        settled = true; streaming = false;
        this.#sessions.delete(id);
        out.off('close', onClose); out.off('finish', onFinish);
        if (err) reject(err); else resolve();
      };
      const onFinish = () => finish();
      const onClose = () => {
        if (streaming) worker.postMessage({ kind: 'cancel', id } satisfies ToDecryptThread);
        finish(Object.assign(new Error('the client closed the download'), { code: 'ERR_STREAM_PREMATURE_CLOSE' }));
      };
      out.once('finish', onFinish);
      out.once('close', onClose);
      this.#sessions.set(id, {
        onChunk: (slot, length, final) => {
          if (final) streaming = false;
          if (length === 0) this.#free.push(slot);
          else {
            // the slot is the kernel's to copy until the write's callback; only then is it granted again (or freed)
            out.write(this.#slot(slot, length), (err) => {
              if (!err && streaming) worker.postMessage({ kind: 'grant', id, slot } satisfies ToDecryptThread);
              else this.#free.push(slot);
            });
          }
          if (final) out.end();
        },
        onError: (message) => {
          finish(new Error(message));
          out.destroy(); // the client sees the response cut short; the error is the rejection's (no 'error' to handle)
        },
      });
      const slots = Array.from({ length: SLOTS_PER_DOWNLOAD }, () => this.#takeSlot());
      worker.postMessage({ kind: 'open', job: { ...file, id }, slots } satisfies ToDecryptThread);
    });
    try { await outcome; } finally {
      await released;
      if (this.#closing.size === 0) worker.unref();
    }
  }
}

let shared: DecryptThread | undefined;
/** The process's download thread (started at the first download). */
export function sharedDecryptThread(): DecryptThread { return (shared ??= new DecryptThread()); }
