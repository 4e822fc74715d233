/**
 * `COMMANDS.md`, written next to the exported data: the layout, one `scripts/train.py` command line
 * per target (each on its own GPU), and the way back into Stemdeck (`npm run import-umx`, then
 * `npm run export`).
 */
import { groupMembers, isStemName, type StemName } from '../../src/core/stems';
import type { WavFormat } from '../node/audio-io';
import type { ExportTarget, TrainSettings } from './plan';

export const COMMANDS_FILE = 'COMMANDS.md';

export interface CommandTarget {
  readonly target: ExportTarget;
  /** File names with `.wav`. */
  readonly targetFile: string;
  readonly interfererFiles: readonly string[];
  readonly trainFolders: number;
  readonly trainSeconds: number;
  readonly validTracks: number;
  readonly settings: TrainSettings;
  readonly gpu: number;
}

export interface CommandsInput {
  /** Absolute path of the export. */
  readonly out: string;
  readonly createdAt: string;
  readonly caches: readonly { dir: string; dataset: string; train: number; valid: number }[];
  readonly format: WavFormat;
  readonly segmentSeconds: number;
  /** What `other` holds in this export, when a target uses it. */
  readonly otherHolds?: readonly StemName[];
  /** The export's atoms (plan.ts). */
  readonly atoms: readonly StemName[];
  readonly targets: readonly CommandTarget[];
  /** Base name of the Stemdeck model files the import lines write (`models/<name>.umxw`). */
  readonly modelName: string;
}

/** One `scripts/train.py` process: the line COMMANDS.md gives for a target. */
export function trainCommand(t: CommandTarget): string {
  const s = t.settings;
  const name = t.target.name;
  return [
    `CUDA_VISIBLE_DEVICES=${t.gpu} python scripts/train.py`,
    '--dataset trackfolder_fix --root "$DATA"',
    `--target ${name} --target-file ${t.targetFile} --interferer-files ${t.interfererFiles.join(' ')}`,
    '--random-track-mix --source-augmentations gain channelswap',
    `--seq-dur ${s.seqDur} --batch-size ${s.batchSize} --hidden-size ${s.hiddenSize}`,
    `--lr ${s.lr} --weight-decay ${s.weightDecay} --epochs ${s.epochs} --patience ${s.patience}`,
    `--lr-decay-patience ${s.lrDecayPatience} --lr-decay-gamma ${s.lrDecayGamma}`,
    `--nb-workers ${s.nbWorkers} --seed ${s.seed}`,
    `--output "$MODELS" > "$MODELS/${name}.log" 2>&1 &`,
  ].join(' ');
}

const pth = (name: string) => `"$MODELS/${name}.pth"`;

/**
 * The import lines: stem targets in one `import-umx`; a group whose members are all targets here
 * becomes the group network of a hierarchical model (imported under a stem name, renamed by
 * merge.ts, as models/README.md builds the 6-stem model); a group that is all the rest beside the
 * stem targets is the model's `other` when no target is called `other`; any other group is left to
 * the user, with a note.
 */
function importLines(input: CommandsInput): string[] {
  const m = `models/${input.modelName}`;
  const plain = input.targets.map((t) => t.target.name).filter(isStemName);
  const plainAtoms = new Set(
    input.targets.filter((t) => isStemName(t.target.name)).flatMap((t) => t.target.atoms),
  );
  const groups = input.targets.filter((t) => !isStemName(t.target.name)).map((t) => t.target);
  const hierarchical = groups
    .filter((g) => groupMembers(g.name)!.every((s) => plain.includes(s)))
    .map((g) => g.name);
  // The rest of the music beside the stem targets, and no target is called other: the model's other.
  const asOther = plain.includes('other')
    ? undefined
    : groups.find(
        (g) =>
          !hierarchical.includes(g.name) &&
          g.atoms.every((a) => !plainAtoms.has(a)) &&
          g.atoms.length + plainAtoms.size === input.atoms.length,
      )?.name;
  const byHand = groups.map((g) => g.name).filter((g) => g !== asOther && !hierarchical.includes(g));
  const names = [...plain, ...(asOther ? ['other'] : [])];
  const files = [...plain.map(pth), ...(asOther ? [pth(asOther)] : [])];
  const lines: string[] = [];
  if (asOther) {
    lines.push(`# ${asOther} is imported as the model's "other": everything its other networks leave.`);
  }
  if (names.length > 0) {
    lines.push(`npm run import-umx -- --pth ${files.join(' ')} --targets ${names.join(',')} --out ${m}.umxw`);
  }
  let weights = `${m}.umxw`;
  if (hierarchical.length > 0) {
    const parts = hierarchical.map((g, k) => {
      lines.push(`npm run import-umx -- --pth ${pth(g)} --targets other --out ${m}-group${k + 1}.umxw`);
      return `${m}-group${k + 1}.umxw:other=${g}`;
    });
    weights = `${m}-hierarchical.umxw`;
    lines.push(`npx tsx training/train/merge.ts --out ${weights} ${m}.umxw ${parts.join(' ')}`);
  }
  if (names.length > 0) lines.push(`npm run export -- --weights ${weights} --out ${m}.onnx --fp16`);
  for (const g of byHand) {
    lines.push(
      `# ${g}: no Stemdeck model takes this group as it is (its members are not all targets, nor is it all the rest);`,
      `# import it with --targets <a stem name> and join it by hand with merge.ts.`,
    );
  }
  return lines;
}

function hours(seconds: number): string {
  return seconds >= 3600 ? `${(seconds / 3600).toFixed(1)} h` : `${(seconds / 60).toFixed(1)} min`;
}

export function renderCommands(input: CommandsInput): string {
  const bits = input.format === 'pcm16' ? '16-bit PCM' : '32-bit float';
  const trainLines = input.targets.map(trainCommand);
  const gpus = new Set(input.targets.map((t) => t.gpu)).size;
  const settings = input.targets[0]?.settings;
  const lines = [
    '# Open-Unmix training data exported from Stemdeck',
    '',
    `Written by \`npm run export-dataset\` on ${input.createdAt} from:`,
    '',
    ...input.caches.map((c) => `- \`${c.dir}\` (${c.dataset}: ${c.train} train / ${c.valid} valid tracks)`),
    '',
    '**Licence.** MUSDB18 (and anything made from it: hybrid generated songs with MUSDB18 drums, bass and',
    'vocals, pitch-shifted copies) is for research use only: never publish or share this folder, nor models',
    'you may not publish under those terms. MedleyDB and the Frets on Fire songs keep their own licences.',
    '',
    '## Layout',
    '',
    "open-unmix-pytorch's `trackfolder_fix` dataset (`openunmix/data.py`, FixedSourcesTrackFolderDataset):",
    '',
    `- \`train/<track>/<file>.wav\`: training tracks${input.segmentSeconds > 0 ? `, cut into parts of at least ${input.segmentSeconds} s (one folder each: the trainer draws one excerpt per folder and epoch)` : ''};`,
    '- `valid/<track>/<file>.wav`: whole validation tracks (the split of each Stemdeck cache);',
    `- 44.1 kHz stereo WAV, ${bits}.`,
    '',
    'A file holds the Stemdeck stems its name lists, summed (`guitar+piano+other.wav`), the same music in every',
    "folder. A folder has only the files its track gives exactly: MUSDB18's `other` hides guitar and piano, so",
    'a MUSDB18 track has no `guitar.wav` and the guitar trainer leaves it out (it prints `Exclude track`).',
    ...(input.otherHolds
      ? [
          '',
          input.otherHolds.length > 1
            ? `Here \`other\` holds ${input.otherHolds.join(', ')}: every stem no other target names.`
            : "Here `other` is Stemdeck's other alone: the targets name every other stem.",
        ]
      : []),
    '',
    '| target | target file | interferer files | train folders | train audio | valid tracks | GPU |',
    '| --- | --- | --- | --- | --- | --- | --- |',
    ...input.targets.map(
      (t) =>
        `| ${t.target.name} | ${t.targetFile} | ${t.interfererFiles.join(' ')} | ${t.trainFolders} | ${hours(t.trainSeconds)} | ${t.validTracks} | ${t.gpu} |`,
    ),
    '',
    '## Train: one process per target, each on its own GPU',
    '',
    'In a git clone of https://github.com/sigsep/open-unmix-pytorch (the trainer records its commit) with its',
    'training requirements installed (`scripts/requirements.txt` or a conda file in `scripts/`; releases',
    'before the `openunmix` package have `train.py` at the top level, with the same options):',
    '',
    '```sh',
    `DATA="${input.out}"`,
    'MODELS="$DATA/models"',
    'mkdir -p "$MODELS"',
    ...trainLines,
    'wait',
    '```',
    '',
    `${input.targets.length} process(es) on ${gpus} GPU(s). Each writes \`$MODELS/<target>.pth\` (best validation`,
    'loss), `<target>.chkpnt`, `<target>.json` (loss history) and `separator.json`. Resume one with',
    '`--checkpoint "$MODELS"` added to its line.',
    '',
    "The settings are Open-Unmix's defaults, sized for this data:",
    '',
    '- `--random-track-mix --source-augmentations gain channelswap`: every interferer from its own random track,',
    "  random gain 0.25–1.25 and channel swap per file (Open-Unmix's MUSDB18 recipe; the newer trainer has no",
    '  default for `--source-augmentations` with track folders, so it is given);',
    `- an epoch is one excerpt per training folder (Open-Unmix's MUSDB18 epoch is 64 per track), so the epoch`,
    '  counts (`--epochs`, `--patience`, `--lr-decay-patience`; 1000, 140, 80 there) are scaled up by',
    '  5504 / folders, at most ×10;',
    `- \`--seq-dur\`: 6 s, shorter when a tenth of the folders are not longer (those are left out);`,
    ...(settings
      ? [
          `- \`--hidden-size ${settings.hiddenSize}\` for all targets (one model needs one size): 512 from 3 h of training audio, 256`,
          '  from 30 min, else 128 (`npm run export-dataset -- --hidden-size N` to choose); `--bandwidth` stays 16000 Hz',
          "  (max bin 1487, as Stemdeck's models).",
        ]
      : []),
    '',
    '## Back to Stemdeck',
    '',
    'Copy the `.pth` files to the machine with the Stemdeck checkout, set `MODELS` to their folder, and in the',
    'checkout:',
    '',
    '```sh',
    ...importLines(input),
    '```',
    '',
  ];
  return lines.join('\n');
}
