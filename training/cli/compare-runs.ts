/**
 * `npm run compare-runs -- RUN_DIR... [--epochs 5,10,15]` — training runs side by side at equal
 * budgets (epochs), from their `log.jsonl` and `config.json`: validation SDR and loss per target (the
 * best loss so far, as the checkpoint `best.umxw` would hold — for a joint network the per-target
 * minimum, while its best.umxw is chosen on the summed loss), and training throughput. Prints a
 * Markdown table; used for the linear-vs-mel and joint-vs-per-target comparisons in docs/BENCHMARKS.md.
 * `A+B` counts two folders as one run (one model trained as two processes, e.g. vocals-drums and
 * bass-other); its throughput is their mean.
 */
import { readFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { Command } from 'commander';

interface Scalar {
  step: number;
  epoch: number;
  tag: string;
  value: number;
}

interface Run {
  name: string;
  input: string;
  targets: string[];
  scalars: Scalar[];
}

async function readRun(dir: string): Promise<Run> {
  let configText: string;
  let logText: string;
  try {
    configText = await readFile(join(dir, 'config.json'), 'utf8');
    logText = await readFile(join(dir, 'log.jsonl'), 'utf8');
  } catch (err) {
    throw new Error(
      `${dir} is not a training run folder (config.json and log.jsonl): ${(err as Error).message}`,
    );
  }
  const config = JSON.parse(configText) as {
    model: {
      targets: string[];
      hiddenSize: number;
      joint?: boolean;
      input: { kind: string; scale?: string; bands?: number };
    };
  };
  const { input } = config.model;
  const scalars = logText
    .split('\n')
    .filter((l) => l.trim().length > 0)
    .map((l, i) => {
      try {
        return JSON.parse(l) as Scalar;
      } catch {
        throw new Error(`${join(dir, 'log.jsonl')} line ${i + 1} is not JSON`);
      }
    });
  return {
    name: `${basename(dirname(dir))}/${basename(dir)}`,
    input: `${input.kind === 'linear' ? 'linear' : `${input.scale} ${input.bands}`}, hidden ${config.model.hiddenSize}${config.model.joint ? ', joint' : ''}`,
    targets: config.model.targets,
    scalars,
  };
}

/** `A+B+…`: the folders' targets and scalars as one run. */
async function readRunGroup(arg: string): Promise<Run> {
  const parts = await Promise.all(arg.split('+').map(readRun));
  if (parts.length === 1) return parts[0];
  return {
    name: parts.map((p) => p.name).join(' + '),
    input: parts[0].input,
    targets: parts.flatMap((p) => p.targets),
    scalars: parts.flatMap((p) => p.scalars),
  };
}

/** The value of `tag` logged at `epoch` (the last one if several), or null. */
function at(run: Run, tag: string, epoch: number): number | null {
  const hits = run.scalars.filter((s) => s.tag === tag && s.epoch === epoch);
  return hits.length > 0 ? hits[hits.length - 1].value : null;
}

function bestUpTo(run: Run, tag: string, epoch: number): number | null {
  const values = run.scalars.filter((s) => s.tag === tag && s.epoch <= epoch).map((s) => s.value);
  return values.length > 0 ? Math.min(...values) : null;
}

function meanUpTo(run: Run, tag: string, epoch: number): number | null {
  const values = run.scalars.filter((s) => s.tag === tag && s.epoch <= epoch).map((s) => s.value);
  return values.length > 0 ? values.reduce((a, b) => a + b, 0) / values.length : null;
}

const fmt = (v: number | null, digits = 2) => (v === null ? '—' : v.toFixed(digits));

async function main(): Promise<void> {
  const program = new Command('compare-runs')
    .argument('<runs...>', 'training output folders (with config.json and log.jsonl)')
    .option('--epochs <list>', 'epochs to compare (default: every epoch with a validation SDR in all runs)')
    .parse();
  const runs = await Promise.all(program.args.map(readRunGroup));
  const opts = program.opts<{ epochs?: string }>();
  const sdrEpochs = (r: Run) =>
    new Set(r.scalars.filter((s) => s.tag.startsWith('valid/sdr/')).map((s) => s.epoch));
  const epochs = opts.epochs
    ? opts.epochs.split(',').map(Number)
    : [...sdrEpochs(runs[0])].filter((e) => runs.every((r) => sdrEpochs(r).has(e))).sort((a, b) => a - b);
  if (epochs.length === 0) throw new Error('no epoch with a validation SDR in every run (use --epochs)');
  const targets = runs[0].targets.filter((t) => runs.every((r) => r.targets.includes(t)));
  console.log(
    `| run | input | epoch | ${targets.map((t) => `valid SDR ${t} (dB)`).join(' | ')} | ${targets
      .map((t) => `best valid loss ${t}`)
      .join(' | ')} | train audio-s/s (mean) |`,
  );
  console.log(
    `| --- | --- | ---: | ${targets.map(() => '---:').join(' | ')} | ${targets.map(() => '---:').join(' | ')} | ---: |`,
  );
  for (const epoch of epochs) {
    for (const run of runs) {
      const sdr = targets.map((t) => fmt(at(run, `valid/sdr/${t}`, epoch)));
      const loss = targets.map((t) => fmt(bestUpTo(run, `valid/loss/${t}`, epoch), 3));
      const speed = fmt(meanUpTo(run, 'train/epoch_audio_s_per_s', epoch), 1);
      console.log(
        `| ${run.name} | ${run.input} | ${epoch} | ${sdr.join(' | ')} | ${loss.join(' | ')} | ${speed} |`,
      );
    }
  }
}

main().catch((err: unknown) => {
  console.error(`compare-runs: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
