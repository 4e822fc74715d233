/**
 * `npm run insights` — genre insights on GTZAN (or any folder of that shape): separates each clip with
 * a model and reports per-genre stem energy shares, with plots.
 *
 *   npm run insights -- --root DIR [--model models/X.onnx (default: the 6-stem model)] [--out out/insights] [--limit N]
 *
 * Writes `<out>/report.md`, `report.json`, `plots/*.svg` and one `clips/<genre>/<clip>.json` per clip;
 * a rerun reuses the clip files made with the same model (resume). See training/README.md.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { relative, resolve } from 'node:path';
import { Command } from 'commander';
import { runInsights } from '../insights/insights';
import { DEFAULT_MODEL_PATH } from '../separate/defaults';
import { loadOnnxModel } from '../separate/onnx-model';
import { positiveInt } from './args';
import { ProgressBar } from './progress';

const program = new Command('insights')
  .description(
    'Separates every clip of a GTZAN-shaped folder (genres/<genre>/*.wav) and reports per-genre stem energy shares.',
  )
  .requiredOption('--root <dir>', 'GTZAN root (holding genres/) or the genres folder itself')
  .option('--model <path>', 'exported model (.onnx)', DEFAULT_MODEL_PATH)
  .option('--out <dir>', 'output folder', 'out/insights')
  .option('--limit <n>', 'at most N clips per genre (the first by name)', positiveInt)
  .option('--wiener <n>', 'Wiener/EM iterations after the model', (v) => Number.parseInt(v, 10), 1)
  .option('--threads <n>', 'onnxruntime intra-op threads', positiveInt, 1)
  .showHelpAfterError();

interface Options {
  root: string;
  model: string;
  out: string;
  limit?: number;
  wiener: number;
  threads: number;
}

async function main(): Promise<void> {
  program.parse();
  const opts = program.opts<Options>();
  if (!(Number.isInteger(opts.wiener) && opts.wiener >= 0)) {
    throw new Error(`--wiener: expected a non-negative integer, got ${opts.wiener}`);
  }
  const model = await loadOnnxModel(opts.model, opts.threads);
  const modelId = createHash('sha256')
    .update(await readFile(opts.model))
    .digest('hex');
  const out = resolve(opts.out);
  const bar = new ProgressBar('insights {bar} {value}/{total} clips | {eta_formatted} left | {clip}');
  const started = performance.now();
  try {
    const report = await runInsights({
      root: resolve(opts.root),
      out,
      model,
      modelId,
      modelName: opts.model,
      limit: opts.limit,
      wienerIterations: opts.wiener,
      onClip: (e) => {
        if (e.status === 'failed') bar.note(`warning: skipped ${e.clip.genre}/${e.clip.name}: ${e.message}`);
        else if (e.message) bar.note(`note: ${e.message}`);
        bar.increment(e.total, { clip: `${e.clip.genre}/${e.clip.name}` });
      },
    });
    bar.stop();
    for (const g of report.emptyGenres)
      console.error(`warning: genre folder ${g} holds no audio files (left out)`);
    const seconds = (performance.now() - started) / 1000;
    const audio = report.clips.reduce((a, c) => a + c.seconds, 0);
    const where = relative(process.cwd(), out) || '.';
    console.log(
      `insights: ${report.genres.length} genres, ${report.clips.length} clips (${report.cached} reused), ` +
        `${report.failed.length} failed — ${audio.toFixed(1)} s of audio in ${seconds.toFixed(1)} s; ` +
        `report in ${where}/report.md`,
    );
    if (report.clips.length === 0) {
      console.error('error: no clip could be measured (see the warnings above)');
      process.exitCode = 1;
    }
  } catch (err) {
    bar.stop();
    throw err;
  }
}

main().catch((err: unknown) => {
  console.error(`error: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
});
