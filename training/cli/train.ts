/**
 * `npm run train` — train an Open-Unmix model on a preprocessed dataset (see training/README.md,
 * "Training").
 *
 *   npm run train -- --config training/configs/X.json [--out DIR] [--resume] [--targets vocals,drums]
 *                    [--backend wasm|webgpu]
 *
 * `--backend webgpu` trains on tfjs-backend-webgpu through Dawn's Node bindings (a GPU via Vulkan,
 * Metal or D3D12; Mesa's lavapipe where there is none); without a WebGPU adapter it stops with a
 * one-line error before reading or writing anything in the output folder.
 *
 * Ctrl-C (SIGINT) or SIGTERM: the current batch finishes, a checkpoint is written, exit code 130;
 * a second signal (more than a second after the first) exits at once. `--resume` continues bit-for-bit
 * from `<out>/checkpoint.ckpt`. package.json runs this with `node --import tsx` (see training/README.md).
 */
import { basename, resolve } from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { describeUmx } from '../../src/core/model';
import { useBackend, webGpuAdapter } from '../model/backend';
import { loadTrainConfig, umxOf, withTargets } from '../train/config';
import { outPaths, train } from '../train/loop';

const REPO_ROOT = resolve(import.meta.dirname, '../..');

const program = new Command('train')
  .description('Trains an Open-Unmix model (one network per target) with checkpoints and validation.')
  .requiredOption('--config <file>', 'TrainConfig JSON (training/configs/)')
  .option('--out <dir>', 'output folder (default out/train/<config name>)')
  .option('--resume', 'continue from <out>/checkpoint.ckpt', false)
  .option('--targets <list>', 'train only these of the config targets (e.g. one process per pair)')
  .option('--no-progress', 'no progress bar')
  .option(
    '--backend <name>',
    'tfjs backend: wasm (CPU), or webgpu (a GPU through Dawn: Vulkan/Metal/D3D12)',
    (v: string) => {
      if (v !== 'wasm' && v !== 'webgpu') throw new InvalidArgumentError('expected wasm or webgpu');
      return v;
    },
    'wasm',
  )
  .parse();
const opts = program.opts<{
  config: string;
  out?: string;
  resume: boolean;
  targets?: string;
  progress: boolean;
  backend: 'wasm' | 'webgpu';
}>();

async function main(): Promise<number> {
  let config = await loadTrainConfig(resolve(opts.config), REPO_ROOT);
  if (opts.targets)
    config = withTargets(
      config,
      opts.targets.split(',').map((s) => s.trim()),
    );
  const out = resolve(opts.out ?? resolve(REPO_ROOT, 'out/train', basename(opts.config, '.json')));
  // The backend first: without a WebGPU adapter nothing in `out` is read or written.
  await useBackend(opts.backend);
  const controller = new AbortController();
  let firstSignalAt = 0;
  const onSignal = (sig: NodeJS.Signals) => {
    if (controller.signal.aborted) {
      // One Ctrl-C often arrives twice (from the terminal, and relayed by npm): a repeat within a
      // second of the first is the same request. A step blocks the event loop for seconds, so both
      // are handled back to back when it ends.
      if (performance.now() - firstSignalAt < 1000) return;
      console.error(`\n${sig} again: exiting without a checkpoint`);
      process.exit(130);
    }
    console.error(`\n${sig}: finishing the current batch, then writing a checkpoint (again to exit at once)`);
    firstSignalAt = performance.now();
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  console.log(
    `train ${config.name}: targets ${config.model.targets.join(', ')}, ${describeUmx(umxOf(config))}, ` +
      `batch ${config.data.batchSize} × ${config.data.chunkSeconds} s, ${Math.ceil(config.data.samplesPerEpoch / config.data.batchSize)} batches/epoch → ${out}` +
      `; backend ${opts.backend}${opts.backend === 'webgpu' ? ` (${webGpuAdapter()})` : ''}`,
  );
  const result = await train(config, {
    out,
    resume: opts.resume,
    backend: opts.backend,
    signal: controller.signal,
    progress: opts.progress,
    print: (line) => console.log(line),
  });
  const p = outPaths(out);
  if (result.interrupted) {
    console.log(
      `stopped; resume with: npm run train -- --config ${opts.config} --out ${out} --resume${opts.targets ? ` --targets ${opts.targets}` : ''}`,
    );
    return 130;
  }
  const s = result.state;
  console.log(
    `done after ${s.epoch} epochs (${s.globalStep} batches, ${(s.seconds / 60).toFixed(1)} min of training); ` +
      Object.entries(s.targets)
        .map(([t, x]) => `${t} best valid ${x.best.toFixed(5)} at epoch ${x.bestEpoch}`)
        .join(', ') +
      `; best weights ${p.best}, curves ${p.curves}`,
  );
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(`error: ${(err as Error).message}`);
    process.exit(1);
  },
);
