/** Worker-thread entry of the generator's pool: renders the songs posted to it, one at a time. */
import { parentPort, workerData } from 'node:worker_threads';
import { renderSong, type SongContext, type SongSpec } from './song';

const ctx = (workerData as { ctx: SongContext }).ctx;
parentPort?.on('message', async (spec: SongSpec) => {
  try {
    parentPort?.postMessage({ ok: true, result: await renderSong(spec, ctx) });
  } catch (err) {
    parentPort?.postMessage({ ok: false, error: err instanceof Error ? err.message : String(err) });
  }
});
