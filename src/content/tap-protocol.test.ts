import { describe, expect, it } from 'vitest';
import { base64ToBytes, bytesToBase64, parseTapEvent } from './tap-protocol';

describe('tap protocol', () => {
  it('round-trips bytes through base64, also past the fromCharCode chunk', () => {
    const bytes = Uint8Array.from({ length: 70_000 }, (_, i) => (i * 7) & 0xff);
    expect(Array.from(base64ToBytes(bytesToBase64(bytes.buffer)))).toEqual(Array.from(bytes));
  });

  it('accepts well-formed events from the page', () => {
    const params = { timestampOffset: 0, appendWindowStart: 0, appendWindowEnd: null, mode: 'segments' };
    expect(parseTapEvent({ t: 'append', sb: 2, bytes: 'AAEC', params })).toEqual({
      t: 'append',
      sb: 2,
      bytes: 'AAEC',
      params,
    });
    expect(parseTapEvent({ t: 'buffer', ms: 1, sb: 2, mime: 'audio/webm; codecs="opus"' })).not.toBeNull();
    expect(parseTapEvent({ t: 'remove', sb: 2, start: 0, end: null })).not.toBeNull();
    expect(
      parseTapEvent({
        t: 'clock',
        ms: 1,
        time: 3,
        rate: 1.5,
        paused: false,
        seeking: false,
        waiting: false,
        at: 1e12,
      }),
    ).not.toBeNull();
  });

  it('drops anything malformed instead of throwing (the page is untrusted)', () => {
    for (const bad of [
      null,
      42,
      { t: 'nope' },
      { t: 'append', sb: 0, bytes: 'AA', params: {} },
      {
        t: 'append',
        sb: 1,
        bytes: 3,
        params: { timestampOffset: 0, appendWindowStart: 0, appendWindowEnd: null, mode: 'segments' },
      },
      {
        t: 'append',
        sb: 1,
        bytes: 'AA',
        params: {
          timestampOffset: Number.NaN,
          appendWindowStart: 0,
          appendWindowEnd: null,
          mode: 'segments',
        },
      },
      {
        t: 'append',
        sb: 1,
        bytes: 'AA',
        params: { timestampOffset: 0, appendWindowStart: 0, appendWindowEnd: null, mode: 'other' },
      },
      { t: 'remove', sb: 1, start: 'x', end: null },
      { t: 'clock', ms: 1, time: 3, rate: 1, paused: 'no', seeking: false, waiting: false, at: 0 },
      { t: 'buffer', ms: 1.5, sb: 2, mime: 'audio/webm' },
    ]) {
      expect(parseTapEvent(bad)).toBeNull();
    }
  });
});
