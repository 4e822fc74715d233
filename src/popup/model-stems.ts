/** The stems of the model the extension ships, known at build time (vite.config.ts reads the model). */
import { isStemName, type StemName } from '../core/stems';
import { MUSDB_ROW_STEMS } from './mix';

declare const __STEMDECK_MODEL_STEMS__: readonly string[];

/** Outside a vite build (unit tests) the define is absent: the four MUSDB stems. */
export const SHIPPED_MODEL_STEMS: readonly StemName[] =
  typeof __STEMDECK_MODEL_STEMS__ === 'undefined'
    ? MUSDB_ROW_STEMS
    : __STEMDECK_MODEL_STEMS__.filter(isStemName);

/** The running engine's stems when it has reported them, else the shipped model's. */
export function modelStems(reported: readonly string[] | undefined): readonly StemName[] {
  const known = (reported ?? []).filter(isStemName);
  return known.length > 0 ? known : SHIPPED_MODEL_STEMS;
}
