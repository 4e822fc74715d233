import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { outputLostReason, type WatchedContext, watchOutput } from './output-watch';

/** An AudioContext's state machine: `resume` runs again unless `stuck`. */
class FakeContext extends EventTarget implements WatchedContext {
  state = 'running';
  resumes = 0;
  constructor(public stuck = false) {
    super();
  }
  set(state: string) {
    this.state = state;
    this.dispatchEvent(new Event('statechange'));
  }
  async resume() {
    this.resumes++;
    if (!this.stuck) queueMicrotask(() => this.set('running'));
  }
}

describe('watchOutput (fail open when the remix’s audio output stops)', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('resumes a suspended context and carries on', async () => {
    const c = new FakeContext();
    const lost = vi.fn();
    watchOutput(c, lost, 1000);
    c.set('suspended');
    await vi.advanceTimersByTimeAsync(2000);
    expect(c.resumes).toBe(1);
    expect(c.state).toBe('running');
    expect(lost).not.toHaveBeenCalled();
  });

  it('gives the audio back once, with the reason, when the context does not run again in time', async () => {
    const c = new FakeContext(true);
    const lost = vi.fn();
    watchOutput(c, lost, 1000);
    c.set('interrupted');
    c.set('suspended'); // a second change while waiting starts no second wait
    await vi.advanceTimersByTimeAsync(999);
    expect(lost).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(1);
    expect(lost).toHaveBeenCalledTimes(1);
    expect(lost).toHaveBeenCalledWith(outputLostReason('suspended'));
    expect(c.resumes).toBe(1);
    c.set('running');
    c.set('suspended');
    await vi.advanceTimersByTimeAsync(5000);
    expect(lost).toHaveBeenCalledTimes(1);
  });

  it('watches a context that starts stopped, ignores its own close, and stops watching when told', async () => {
    const stuck = new FakeContext(true);
    stuck.state = 'suspended';
    const lost = vi.fn();
    watchOutput(stuck, lost, 500);
    await vi.advanceTimersByTimeAsync(500);
    expect(lost).toHaveBeenCalledTimes(1);

    const c = new FakeContext(true);
    const lost2 = vi.fn();
    const unwatch = watchOutput(c, lost2, 500);
    c.set('closed');
    await vi.advanceTimersByTimeAsync(1000);
    expect(c.resumes).toBe(0);
    unwatch();
    c.set('suspended');
    await vi.advanceTimersByTimeAsync(1000);
    expect(lost2).not.toHaveBeenCalled();
  });
});
