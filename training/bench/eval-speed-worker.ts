/** Bench worker: scores in-memory tracks with BSS Eval v4 and reports the compute time of each. */
import { parentPort } from 'node:worker_threads';
import { bssEvalV4, type MultichannelSignal } from '../eval/bsseval/bsseval';

export interface BenchTrack {
  name: string;
  references: MultichannelSignal[];
  estimates: MultichannelSignal[];
}

parentPort?.on('message', (tracks: BenchTrack[]) => {
  const seconds = tracks.map((t) => {
    const start = performance.now();
    bssEvalV4(t.references, t.estimates);
    return (performance.now() - start) / 1000;
  });
  parentPort?.postMessage(seconds);
});
