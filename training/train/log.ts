/**
 * TensorBoard-style scalars, one JSON object per line in `<out>/log.jsonl`:
 *   {"step": 120, "epoch": 3, "tag": "valid/loss/vocals", "value": 0.0123, "wall": 431.2}
 * (`step`: batches since the start, `wall`: training seconds), and the curves as an SVG (vega-lite,
 * rendered with training/eval/report.ts's renderSvg).
 */
import { appendFileSync, existsSync, readFileSync, statSync, truncateSync } from 'node:fs';
import type * as vl from 'vega-lite';
import { isStemName, stemInfo } from '../../src/core/stems';
import { renderSvg } from '../eval/report';
import { writeFileAtomic } from '../node/atomic';

export interface Scalar {
  step: number;
  epoch: number;
  tag: string;
  value: number;
  wall: number;
}

export class ScalarLog {
  constructor(readonly path: string) {}

  /** Current length in bytes (stored in checkpoints). */
  bytes(): number {
    return existsSync(this.path) ? statSync(this.path).size : 0;
  }

  /** Drops whatever was logged after a checkpoint (resume), or everything (fresh run). */
  truncate(bytes: number): void {
    if (existsSync(this.path)) truncateSync(this.path, bytes);
  }

  write(scalars: readonly Scalar[]): void {
    if (scalars.length === 0) return;
    // JSON has no NaN/Infinity: such values are written as null.
    appendFileSync(this.path, scalars.map((s) => JSON.stringify(s) + '\n').join(''));
  }

  read(): Scalar[] {
    if (!existsSync(this.path)) return [];
    return readFileSync(this.path, 'utf8')
      .split('\n')
      .filter((l) => l.length > 0)
      .map((l) => JSON.parse(l) as Scalar);
  }
}

/** Vega-Lite spec: loss (train epoch mean and validation) per target, validation SDR, learning rate. */
export function curvesSpec(scalars: readonly Scalar[], title: string): vl.TopLevelSpec {
  const rows = (prefix: string) =>
    scalars
      .filter((s) => s.tag.startsWith(prefix) && typeof s.value === 'number' && Number.isFinite(s.value))
      .map((s) => ({ epoch: s.epoch, value: s.value, target: s.tag.slice(prefix.length) }));
  const loss = [
    ...rows('train/epoch_loss/').map((r) => ({ ...r, split: 'train' })),
    ...rows('valid/loss/').map((r) => ({ ...r, split: 'valid' })),
  ];
  const targets = [...new Set(loss.map((r) => r.target))];
  const colour = {
    field: 'target',
    type: 'nominal' as const,
    scale: { domain: targets, range: targets.map((t) => (isStemName(t) ? stemInfo(t).colour : '#888888')) },
  };
  const panel = (values: object[], y: string, extra: object = {}): vl.TopLevelSpec =>
    ({
      width: 320,
      height: 220,
      data: { values },
      mark: { type: 'line', point: values.length < 60 },
      encoding: {
        x: { field: 'epoch', type: 'quantitative' },
        y: {
          field: 'value',
          type: 'quantitative',
          title: y,
          scale: 'type' in extra ? extra : { zero: false },
        },
        color: colour,
      },
    }) as unknown as vl.TopLevelSpec;
  const lossPanel = panel(loss, 'MSE loss', { type: 'log' }) as unknown as Record<string, unknown>;
  (lossPanel.encoding as Record<string, unknown>).strokeDash = { field: 'split', type: 'nominal' };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title,
    background: 'white',
    hconcat: [
      lossPanel,
      panel(rows('valid/sdr/'), 'validation SDR (dB)'),
      panel(rows('train/lr/'), 'learning rate', { type: 'log' }),
    ],
  } as unknown as vl.TopLevelSpec;
}

export async function writeCurves(path: string, scalars: readonly Scalar[], title: string): Promise<void> {
  await writeFileAtomic(path, await renderSvg(curvesSpec(scalars, title)));
}
