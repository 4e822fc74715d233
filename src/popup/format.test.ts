import { describe, expect, it } from 'vitest';
import type { EngineStatus, MediaReport, TabState } from '../extension/messages';
import {
  describeEngine,
  describeEngineChoice,
  describeMedia,
  describeMode,
  formatClock,
  mediaTimeAt,
} from './format';

const at = 1_000_000;
const media: MediaReport = {
  present: true,
  kind: 'audio',
  playing: true,
  currentTime: 10,
  playbackRate: 1,
  srcKind: 'network',
  at,
};
const state = (over: Partial<TabState> = {}): TabState => ({
  tabId: 1,
  hostname: 'www.youtube.com',
  media,
  enabled: false,
  gains: null,
  engine: null,
  notice: null,
  ...over,
});

describe('formatClock', () => {
  it('formats m:ss and h:mm:ss', () => {
    expect(formatClock(0)).toBe('0:00');
    expect(formatClock(12.9)).toBe('0:12');
    expect(formatClock(61)).toBe('1:01');
    expect(formatClock(3723)).toBe('1:02:03');
  });
});

describe('describeMedia', () => {
  it('extrapolates a playing clock and freezes a paused one', () => {
    expect(describeMedia(state(), at + 2_500)).toBe('Playing <audio> · 0:12');
    expect(describeMedia(state({ media: { ...media, playing: false } }), at + 60_000)).toBe(
      'Paused <audio> · 0:10',
    );
  });
  it('scales by playback rate and shows it', () => {
    const fast = { ...media, playbackRate: 2, kind: 'video' as const };
    expect(mediaTimeAt(fast, at + 1_000)).toBe(12);
    expect(describeMedia(state({ media: fast }), at + 1_000)).toBe('Playing <video> · 0:12 · 2×');
  });
  it('says when nothing is found or the script does not run', () => {
    expect(describeMedia(state({ media: { ...media, present: false, kind: null } }), at)).toMatch(
      /No <audio>/,
    );
    expect(describeMedia(state({ hostname: null, media: null }), at)).toMatch(/remix works on any tab/);
  });
});

describe('describeEngine', () => {
  const engine: EngineStatus = {
    phase: 'running',
    backend: 'wasm',
    threads: 2,
    delayMs: 6000,
    load: 0.314,
    stems: ['vocals', 'drums', 'bass', 'other'],
    lateSeconds: 0,
    degraded: null,
    engineNote: 'the WebGPU adapter (google swiftshader) is a software fallback',
    error: null,
    mode: 'delayed',
    modeNote: 'the page’s audio cannot be read ahead (no Media Source audio seen)',
    at,
  };
  it('says the page audio plays while off, with the last fault when there was one', () => {
    expect(describeEngine(state())).toBe('Off: the page’s own audio plays unchanged.');
    expect(describeEngine(state({ notice: 'The model failed.' }))).toBe('Off. The model failed.');
  });
  it('names the engine, delay, load and late audio while on', () => {
    expect(describeEngine(state({ enabled: true }))).toMatch(/^Starting/);
    expect(describeEngine(state({ enabled: true, engine: { ...engine, phase: 'buffering' } }))).toBe(
      'Buffering: the original plays until the remix is ready (WASM · 2 threads · delay 6.0 s).',
    );
    expect(describeEngine(state({ enabled: true, engine }))).toBe(
      'Remixing (WASM · 2 threads · delay 6.0 s · load 31 %).',
    );
    expect(
      describeEngine(state({ enabled: true, engine: { ...engine, lateSeconds: 0.5, threads: 1 } })),
    ).toBe('Remixing (WASM · 1 thread · delay 6.0 s · load 31 % · 0.5 s late (original played)).');
  });
});

describe('describeMode', () => {
  const base: EngineStatus = {
    phase: 'running',
    backend: 'wasm',
    threads: 2,
    delayMs: 5548,
    load: 0.2,
    stems: ['vocals'],
    lateSeconds: 0,
    degraded: null,
    engineNote: null,
    error: null,
    mode: 'in-sync',
    modeNote: null,
    at,
  };
  it('says in sync or delayed, and why, only while on', () => {
    expect(describeMode(state({ enabled: true, engine: base }))).toBe('In sync with the picture.');
    expect(
      describeMode(
        state({ enabled: true, engine: { ...base, modeNote: 'at 1.5× the page’s own audio plays' } }),
      ),
    ).toBe('In sync; at 1.5× the page’s own audio plays.');
    expect(
      describeMode(
        state({
          enabled: true,
          engine: {
            ...base,
            mode: 'delayed',
            modeNote: 'the page’s audio cannot be read ahead (no Media Source audio seen)',
          },
        }),
      ),
    ).toBe('Delayed 5.5 s: the page’s audio cannot be read ahead (no Media Source audio seen).');
    expect(describeMode(state({ engine: base }))).toBeNull();
    expect(describeMode(state({ enabled: true, engine: { ...base, mode: null } }))).toBeNull();
    expect(describeEngine(state({ enabled: true, engine: { ...base, lateSeconds: 1.25 } }))).toBe(
      'Remixing (WASM · 2 threads · load 20 % · page audio for 1.3 s without stems).',
    );
  });
});

describe('describeEngineChoice', () => {
  it('says why the engine runs, only while on', () => {
    const engine: EngineStatus = {
      phase: 'running',
      backend: 'wasm',
      threads: 2,
      delayMs: 5548,
      load: 0.2,
      stems: ['vocals'],
      lateSeconds: 0,
      degraded: null,
      engineNote: 'no WebGPU adapter',
      error: null,
      mode: 'delayed',
      modeNote: null,
      at,
    };
    expect(describeEngineChoice(state({ enabled: true, engine }))).toBe(
      'Engine: WASM, because no WebGPU adapter.',
    );
    expect(describeEngineChoice(state({ enabled: false, engine }))).toBeNull();
    expect(
      describeEngineChoice(state({ enabled: true, engine: { ...engine, engineNote: null } })),
    ).toBeNull();
  });
});
