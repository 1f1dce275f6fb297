/** Worker-thread entry for test/bench/export-data-path.ts: runs the data path with the options it is given. */
import { parentPort, workerData } from 'node:worker_threads';
import { runDataPath } from './data-path.ts';

parentPort!.postMessage(await runDataPath(workerData));
