/**
 * Which remix a tab gets (pure rules, unit-tested): in sync with the picture when the page's own
 * media feed can be read ahead (YouTube), delayed (tab capture, separated after it played) otherwise.
 *
 * - Delayed → in sync as soon as the read-ahead is usable: the tap's history arrives within a
 *   moment of switching on, while the delayed path is still buffering (playing the page's audio).
 * - In sync → delayed only after the read-ahead has been unusable for `FALLBACK_MS` (a new video's
 *   MediaSource takes a moment to appear; an unusable read-ahead meanwhile plays the page's own
 *   audio, which is what the in-sync remix does whenever it lacks stems).
 */
import type { RemixMode } from '../extension/messages';

export const FALLBACK_MS = 4000;

export type ModeDecision = 'stay' | RemixMode;

export function chooseMode(
  current: RemixMode,
  unusable: string | null,
  unusableSince: number | null,
  now: number,
): ModeDecision {
  if (current === 'delayed') return unusable === null ? 'in-sync' : 'stay';
  if (unusable === null || unusableSince === null) return 'stay';
  return now - unusableSince >= FALLBACK_MS ? 'delayed' : 'stay';
}
