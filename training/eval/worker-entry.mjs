// Worker threads do not inherit tsx's loader from the main thread: register it, then load the TS module
// named in workerData.module (default: the evaluation worker).
import { workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
await import(workerData?.module ?? './worker.ts');
