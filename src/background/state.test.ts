import { describe, expect, it } from 'vitest';
import { emptyTabState, type MediaReport, parseMessage, parseTabState } from '../extension/messages';
import { applyContentMessage, applyPopupMessage, contentSenderTab, mayControlTabs } from './state';

const media: MediaReport = {
  present: true,
  kind: 'audio',
  playing: true,
  currentTime: 12.5,
  playbackRate: 1,
  srcKind: 'network',
  at: 1_700_000_000_000,
};
const gains = { drums: 1, bass: 0.5, other: 1, vocals: 0 };

describe('parseMessage', () => {
  it('accepts each well-formed message', () => {
    expect(parseMessage({ type: 'media/state', hostname: 'www.youtube.com', media })).toEqual({
      type: 'media/state',
      hostname: 'www.youtube.com',
      media,
    });
    expect(parseMessage({ type: 'page/hide' })).toEqual({ type: 'page/hide' });
    expect(parseMessage({ type: 'tab/get', tabId: 3 })).toEqual({ type: 'tab/get', tabId: 3 });
    expect(parseMessage({ type: 'tab/warm', tabId: 3 })).toEqual({ type: 'tab/warm', tabId: 3 });
    expect(parseMessage({ type: 'offscreen/warm', tabId: 3 })).toEqual({ type: 'offscreen/warm', tabId: 3 });
    // The user's switch-off keeps the worker; any other stop (and a malformed flag) does not.
    for (const [keepWorker, kept] of [
      [true, true],
      [undefined, false],
      ['yes', false],
    ] as const)
      expect(parseMessage({ type: 'offscreen/stop', tabId: 3, reason: 'switched off', keepWorker })).toEqual({
        type: 'offscreen/stop',
        tabId: 3,
        reason: 'switched off',
        keepWorker: kept,
      });
    expect(parseMessage({ type: 'tab/warm', tabId: -1 })).toBeNull();
    expect(parseMessage({ type: 'tab/set-gains', tabId: 3, gains })).toEqual({
      type: 'tab/set-gains',
      tabId: 3,
      gains,
    });
    expect(parseMessage({ type: 'tab/set-enabled', tabId: 3, enabled: true })?.type).toBe('tab/set-enabled');
    expect(parseMessage({ type: 'tab/toggle-enabled', tabId: 0 })?.type).toBe('tab/toggle-enabled');
  });

  it('rejects malformed input', () => {
    for (const bad of [
      null,
      'tab/get',
      [],
      { type: 'nope' },
      { type: 'tab/get' },
      { type: 'tab/get', tabId: -1 },
      { type: 'tab/get', tabId: 1.5 },
      { type: 'tab/set-enabled', tabId: 1, enabled: 'yes' },
      { type: 'tab/set-gains', tabId: 1, gains: { ...gains, vocals: 2 } },
      { type: 'tab/set-gains', tabId: 1, gains: { drums: 1, kazoo: 1 } },
      { type: 'tab/set-gains', tabId: 1, gains: [1, 1] },
      { type: 'media/state', hostname: '', media },
      { type: 'media/state', hostname: 'a', media: { ...media, currentTime: Number.NaN } },
      { type: 'media/state', hostname: 'a', media: { ...media, kind: 'img' } },
      { type: 'media/state', hostname: 'a', media: { ...media, srcKind: 'https://leak' } },
    ]) {
      expect(parseMessage(bad), JSON.stringify(bad)).toBeNull();
    }
  });

  it('accepts gains for any subset of the known stems (a six-stem model has guitar and piano)', () => {
    expect(parseMessage({ type: 'tab/set-gains', tabId: 1, gains: { guitar: 0, piano: 0.5 } })).toEqual({
      type: 'tab/set-gains',
      tabId: 1,
      gains: { guitar: 0, piano: 0.5 },
    });
  });

  it('drops unknown extra fields', () => {
    expect(parseMessage({ type: 'tab/get', tabId: 1, evil: true })).toEqual({ type: 'tab/get', tabId: 1 });
  });
});

describe('tab state transitions', () => {
  it('records media reports and forgets them when the page leaves, keeping the switch', () => {
    let s = applyPopupMessage(emptyTabState(7), { type: 'tab/set-enabled', tabId: 7, enabled: true });
    s = applyContentMessage(s, { type: 'media/state', hostname: 'open.spotify.com', media });
    expect(s).toMatchObject({ hostname: 'open.spotify.com', media, enabled: true });
    s = applyContentMessage(s, { type: 'page/hide' });
    expect(s).toEqual({
      tabId: 7,
      hostname: null,
      media: null,
      enabled: true,
      gains: null,
      engine: null,
      notice: null,
    });
  });

  it('toggles and sets gains', () => {
    const s0 = emptyTabState(1);
    const s1 = applyPopupMessage(s0, { type: 'tab/toggle-enabled', tabId: 1 });
    expect(s1.enabled).toBe(true);
    expect(applyPopupMessage(s1, { type: 'tab/toggle-enabled', tabId: 1 }).enabled).toBe(false);
    expect(applyPopupMessage(s0, { type: 'tab/set-gains', tabId: 1, gains }).gains).toEqual(gains);
    expect(applyPopupMessage(s0, { type: 'tab/get', tabId: 1 })).toBe(s0);
  });

  it('round-trips through parseTabState and rejects corrupt stored state', () => {
    const s = {
      tabId: 2,
      hostname: 'www.youtube.com',
      media,
      enabled: true,
      gains,
      engine: null,
      notice: null,
    };
    expect(parseTabState(JSON.parse(JSON.stringify(s)))).toEqual(s);
    // State stored by an older build (no engine/notice fields) still reads.
    const { engine: _e, notice: _n, ...old } = s;
    expect(parseTabState(old)).toEqual(s);
    expect(parseTabState({ ...s, engine: { phase: 'exploded' } })).toBeNull();
    expect(parseTabState({ ...s, media: { present: true } })).toBeNull();
    expect(parseTabState({ ...s, enabled: 1 })).toBeNull();
  });
});

describe('sender checks', () => {
  const page = { fromExtension: true, extensionPage: true, tabId: null, frameId: null };
  const content = { fromExtension: true, extensionPage: false, tabId: 5, frameId: 0 };
  it('takes content messages only from a top frame of a tab', () => {
    expect(contentSenderTab(content)).toBe(5);
    expect(contentSenderTab({ ...content, frameId: 2 })).toBeNull();
    expect(contentSenderTab({ ...content, fromExtension: false })).toBeNull();
    expect(contentSenderTab(page)).toBeNull();
  });
  it('lets only extension pages control tabs', () => {
    expect(mayControlTabs(page)).toBe(true);
    expect(mayControlTabs({ ...page, tabId: 9, frameId: 0 })).toBe(true); // popup opened in a tab
    expect(mayControlTabs(content)).toBe(false);
  });
});
