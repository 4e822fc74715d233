import { describe, expect, it } from 'vitest';
import { chooseMode, FALLBACK_MS } from './mode';

describe('chooseMode', () => {
  it('goes in sync as soon as the read-ahead is usable', () => {
    expect(chooseMode('delayed', null, null, 0)).toBe('in-sync');
    expect(chooseMode('delayed', 'no Media Source audio seen', 0, 60_000)).toBe('stay');
  });

  it('falls back to the delayed remix only after the read-ahead stayed unusable a while', () => {
    expect(chooseMode('in-sync', null, null, 0)).toBe('stay');
    expect(chooseMode('in-sync', 'the page stopped reporting', 1000, 1000 + FALLBACK_MS - 1)).toBe('stay');
    expect(chooseMode('in-sync', 'the page stopped reporting', 1000, 1000 + FALLBACK_MS)).toBe('delayed');
  });
});
