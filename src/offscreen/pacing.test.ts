import { describe, expect, it } from 'vitest';
import { pace } from './pacing';

const calm = { load: 0.25, lateSeconds: 0, backlogSeconds: 0.2, degraded: false };

describe('pace', () => {
  it('keeps full quality while the machine keeps up', () => {
    expect(pace(calm)).toBe('keep');
    expect(pace({ ...calm, load: null })).toBe('keep');
  });
  it('degrades first on high load, late audio or a growing backlog', () => {
    expect(pace({ ...calm, load: 0.7 })).toBe('degrade');
    expect(pace({ ...calm, lateSeconds: 0.01 })).toBe('degrade');
    expect(pace({ ...calm, backlogSeconds: 2 })).toBe('degrade');
    // Even far behind, the first step is to degrade, not to give up.
    expect(pace({ ...calm, backlogSeconds: 5, lateSeconds: 3 })).toBe('degrade');
  });
  it('while warming up, degrades only for audio that was really late, or a backlog far beyond a slow start', () => {
    const warm = { ...calm, warmingUp: true };
    expect(pace({ ...warm, load: 0.9, backlogSeconds: 2.5 })).toBe('keep');
    expect(pace({ ...warm, load: 1.7, backlogSeconds: 5.9 })).toBe('keep');
    expect(pace({ ...warm, lateSeconds: 0.01 })).toBe('degrade');
    expect(pace({ ...warm, load: 1.7, backlogSeconds: 6.5 })).toBe('degrade');
    // …and, degraded and still that far behind, it gives the audio back.
    expect(pace({ ...warm, degraded: true, load: 1.7, backlogSeconds: 6.5 })).toBe('give-up');
  });
  it('gives the audio back only when degraded and still behind', () => {
    const degraded = { ...calm, degraded: true, load: 0.9 };
    expect(pace(degraded)).toBe('keep');
    expect(pace({ ...degraded, backlogSeconds: 3.5 })).toBe('give-up');
    expect(pace({ ...degraded, lateSeconds: 2 })).toBe('give-up');
  });
});
