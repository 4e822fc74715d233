/**
 * `npm run import-umx` — official open-unmix-pytorch .pth state_dicts (one per target) to a Stemdeck
 * weights file (.umxw).
 *
 *   npm run import-umx -- --pth vocals.pth drums.pth bass.pth other.pth --targets vocals,drums,bass,other --out FILE.umxw
 */
import { Command, Option } from 'commander';
import { describeUmx } from '../../src/core/model';
import { STEM_NAMES, type StemName } from '../../src/core/stems';
import { importUmxPth } from '../export/pth';
import { writeWeightsFile } from '../export/weights-file';

const program = new Command('import-umx')
  .description(
    'Imports open-unmix .pth weights (one file per target); the model size is read from the shapes.',
  )
  .requiredOption('--pth <files...>', '.pth files, one per target, in the order of --targets')
  .requiredOption('--targets <list>', `comma-separated targets (${STEM_NAMES.join(', ')})`)
  .requiredOption('--out <file>', 'output weights file (.umxw)')
  .addOption(
    new Option('--sample-rate <hz>', 'sample rate the model was trained at').default(44100).argParser(Number),
  )
  .parse();

const opts = program.opts<{ pth: string[]; targets: string; out: string; sampleRate: number }>();

try {
  const targets = opts.targets.split(',').map((s) => s.trim());
  const unknown = targets.filter((t) => !(STEM_NAMES as readonly string[]).includes(t));
  if (unknown.length > 0) throw new Error(`--targets: unknown stem(s) ${unknown.join(', ')}`);
  const { weights, ignored } = await importUmxPth(opts.pth, targets as StemName[], {
    sampleRate: opts.sampleRate,
  });
  for (const [file, keys] of ignored) if (keys.length > 0) console.log(`${file}: skipped ${keys.join(', ')}`);
  await writeWeightsFile(opts.out, weights);
  const c = weights.config;
  console.log(`wrote ${opts.out}: targets ${c.targets.join(', ')}; ${describeUmx(c)}, nbBins ${c.nbBins}`);
} catch (err) {
  console.error(`import-umx: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
}
