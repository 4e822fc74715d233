/** Worker-thread entry: runs evaluation jobs posted by the pool, one at a time. */
import { parentPort } from 'node:worker_threads';
import { type EvalJob, runEvalJob } from './job';

parentPort?.on('message', async (job: EvalJob) => {
  try {
    parentPort?.postMessage({ ok: true, value: await runEvalJob(job) });
  } catch (err) {
    parentPort?.postMessage({ ok: false, error: err instanceof Error ? err.message : String(err) });
  }
});
