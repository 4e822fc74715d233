/**
 * COMMANDS.md without data: one train.py line per target on its GPU, and the import lines for stem
 * targets, a group beside its members (hierarchical model) and a group that is all the rest.
 */
import { describe, expect, it } from 'vitest';
import { type CommandTarget, renderCommands, trainCommand } from './commands';
import { parseTargets, trainSettings } from './plan';

function render(targets: string[]): string {
  const set = parseTargets(targets);
  const settings = trainSettings([30, 30, 30], 256);
  const rows: CommandTarget[] = set.targets.map((target, i) => ({
    target,
    targetFile: `${target.name}.wav`,
    interfererFiles: ['x.wav'],
    trainFolders: 3,
    trainSeconds: 90,
    validTracks: 1,
    settings,
    gpu: i,
  }));
  return renderCommands({
    out: '/data/umx',
    createdAt: '2026-12-07T00:00:00.000Z',
    caches: [{ dir: '/c', dataset: 'stems', train: 3, valid: 1 }],
    format: 'float32',
    segmentSeconds: 30,
    otherHolds: set.otherUsed ? set.otherHolds : undefined,
    atoms: set.atoms,
    targets: rows,
    modelName: 'umx',
  });
}

describe('renderCommands', () => {
  it('writes the trainer line with the dataset options, the GPU and the log', () => {
    const line = trainCommand({
      target: { name: 'guitar', atoms: ['guitar'] },
      targetFile: 'guitar.wav',
      interfererFiles: ['vocals+drums+bass+piano+other.wav'],
      trainFolders: 10,
      trainSeconds: 300,
      validTracks: 1,
      settings: trainSettings(Array(10).fill(30), 128),
      gpu: 3,
    });
    expect(line).toBe(
      'CUDA_VISIBLE_DEVICES=3 python scripts/train.py --dataset trackfolder_fix --root "$DATA" ' +
        '--target guitar --target-file guitar.wav --interferer-files vocals+drums+bass+piano+other.wav ' +
        '--random-track-mix --source-augmentations gain channelswap --seq-dur 6 --batch-size 16 --hidden-size 128 ' +
        '--lr 0.001 --weight-decay 0.00001 --epochs 10000 --patience 1400 --lr-decay-patience 800 ' +
        '--lr-decay-gamma 0.3 --nb-workers 4 --seed 42 --output "$MODELS" > "$MODELS/guitar.log" 2>&1 &',
    );
  });

  it('imports a group that is all the rest as the model’s other', () => {
    const text = render(['vocals', 'drums', 'bass', 'guitar+piano+other']);
    expect(text).toContain(
      'npm run import-umx -- --pth "$MODELS/vocals.pth" "$MODELS/drums.pth" "$MODELS/bass.pth" "$MODELS/guitar+piano+other.pth" --targets vocals,drums,bass,other --out models/umx.umxw',
    );
    expect(text).not.toContain('merge.ts');
    expect(text).toContain('Here `other` is Stemdeck');
  });

  it('says when a group fits no Stemdeck model, instead of importing it wrongly', () => {
    // guitar is a network and inside the group: neither "other" (they would overlap) nor hierarchical.
    const text = render(['vocals', 'drums', 'bass', 'guitar', 'guitar+piano+other']);
    expect(text).toContain('--targets vocals,drums,bass,guitar --out models/umx.umxw');
    expect(text).toContain('# guitar+piano+other: no Stemdeck model takes this group as it is');
    expect(text).not.toContain('"$MODELS/guitar+piano+other.pth" --targets');
  });

  it('names what other holds in a 4-stem export', () => {
    expect(render(['vocals', 'drums', 'bass', 'other'])).toContain(
      'Here `other` holds guitar, piano, other: every stem no other target names.',
    );
  });
});
