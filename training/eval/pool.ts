/**
 * A small worker-thread pool for evaluation jobs: BSS Eval is CPU-bound and single-threaded per track,
 * so tracks run in parallel, one per core. A worker that dies fails its job and is replaced.
 */
import { Worker } from 'node:worker_threads';
import type { EvalJob, EvalJobResult } from './job';

export type JobOutcome = { ok: true; value: EvalJobResult } | { ok: false; error: string };

function startWorker(): Worker {
  return new Worker(new URL('./worker-entry.mjs', import.meta.url));
}

function runOnWorker(worker: Worker, job: EvalJob): Promise<JobOutcome> {
  return new Promise<JobOutcome>((resolve) => {
    const cleanup = () => {
      worker.off('message', onMessage);
      worker.off('error', onError);
      worker.off('exit', onExit);
    };
    const onMessage = (msg: JobOutcome) => {
      cleanup();
      resolve(msg);
    };
    const onError = (err: Error) => {
      cleanup();
      resolve({ ok: false, error: `worker failed: ${err.message}` });
    };
    const onExit = (code: number) => {
      cleanup();
      resolve({ ok: false, error: `worker exited with code ${code}` });
    };
    worker.on('message', onMessage);
    worker.on('error', onError);
    worker.on('exit', onExit);
    worker.postMessage(job);
  });
}

export async function runPool(
  jobs: readonly EvalJob[],
  workers: number,
  onDone: (job: EvalJob, outcome: JobOutcome) => void,
): Promise<void> {
  const queue = [...jobs];
  const lane = async () => {
    let worker = startWorker();
    for (let job = queue.shift(); job; job = queue.shift()) {
      const outcome = await runOnWorker(worker, job);
      if (!outcome.ok && outcome.error.startsWith('worker ')) {
        await worker.terminate();
        worker = startWorker();
      }
      onDone(job, outcome);
    }
    await worker.terminate();
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(workers, jobs.length)) }, lane));
}
