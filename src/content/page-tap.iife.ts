/**
 * The page-world tap (a MAIN-world content script at document_start, YouTube hosts only): sees the
 * page's Media Source Extensions audio as the player appends it, tens of seconds ahead of playback,
 * so the offscreen document can separate it before it plays (docs/ARCHITECTURE.md, "Read-ahead").
 *
 * It wraps `MediaSource.addSourceBuffer` / `endOfStream`, `SourceBuffer.appendBuffer` / `remove` /
 * `abort` / `changeType`, `URL.createObjectURL` and the media element's `src` setter, and after each
 * call that succeeded copies what it needs. Rules for the page's sake:
 *  - every original is called first, with the page's own arguments, and its result or exception is
 *    the page's: nothing is delayed, transferred or changed;
 *  - the tap's own work runs inside `quietly`: a throw there never reaches the page;
 *  - only audio SourceBuffers are copied, and what is kept before the remix is switched on is bounded
 *    (`HISTORY_BYTES`, oldest appends first, always keeping the latest init segment).
 * Until the bridge arms it (the tab's remix is on) nothing leaves the page; when disarmed it stops.
 */
import { type ClockSample, TAP_HANDSHAKE, type TapCommand, type TapEvent } from './tap-protocol';

/** Page-side memory bound for audio appended before the remix was switched on (≈ 16 min at 128 kbit/s). */
const HISTORY_BYTES = 16 * 1024 * 1024;
/**
 * Clock samples while armed: every tick for an element at a rate other than 1, every other tick at
 * 1. At other rates Chrome's `currentTime` now and then steps by tens of milliseconds and stays; the
 * offscreen clock restarts its line after three samples past such a step.
 */
const CLOCK_TICK_MS = 125;
/**
 * Samples after a play, seek or rate change (ms): the offscreen clock trusts a line 100 ms after the
 * element moves on, so samples this close let the stems start within 25 ms of that.
 */
const BURST_MS = [25, 50, 75, 100, 125, 150, 200, 250, 300];
const CLOCK_EVENTS = [
  'play',
  'pause',
  'seeking',
  'seeked',
  'ratechange',
  'waiting',
  'playing',
  'timeupdate',
  'emptied',
];

(() => {
  const MS = window.MediaSource;
  const SB = window.SourceBuffer;
  if (typeof MS !== 'function' || typeof SB !== 'function') return;

  const quietly = (fn: () => void) => {
    try {
      fn();
    } catch {
      // The tap loses this event; the page must never notice.
    }
  };

  let port: MessagePort | null = null;
  let armed = false;
  let nextId = 1;
  const sourceIds = new WeakMap<MediaSource, number>();
  const bufferIds = new WeakMap<SourceBuffer, number>();
  const urlSources = new Map<string, MediaSource>();
  /** MediaSource id → the element it is attached to. */
  const elements = new Map<number, HTMLMediaElement>();
  /** Everything but clock samples, in order, for the replay when the tap is armed. */
  const history: TapEvent[] = [];
  let historyBytes = 0;
  /** The latest append of each SourceBuffer that starts an init segment (never trimmed). */
  const latestInit = new Map<number, TapEvent>();

  const sourceId = (ms: MediaSource): number => {
    let id = sourceIds.get(ms);
    if (id === undefined) {
      id = nextId++;
      sourceIds.set(ms, id);
      emit({ t: 'source', ms: id });
    }
    return id;
  };

  function send(ev: TapEvent): void {
    if (armed && port) port.postMessage(ev);
  }

  function emit(ev: TapEvent): void {
    history.push(ev);
    if (ev.t === 'append') historyBytes += ev.bytes.byteLength;
    send(ev);
    trim();
  }

  function trim(): void {
    for (let i = 0; historyBytes > HISTORY_BYTES && i < history.length; i++) {
      const ev = history[i];
      if (ev.t !== 'append' || latestInit.get(ev.sb) === ev) continue;
      historyBytes -= ev.bytes.byteLength;
      const prev = history[i - 1];
      if (prev?.t === 'gap' && prev.sb === ev.sb) history.splice(i--, 1);
      else history[i] = { t: 'gap', sb: ev.sb };
    }
  }

  /** Does this append start an init segment (WebM EBML header, or an MP4 `ftyp`)? */
  function startsInit(b: Uint8Array): boolean {
    if (b[0] === 0x1a && b[1] === 0x45 && b[2] === 0xdf && b[3] === 0xa3) return true;
    return b.length >= 8 && String.fromCharCode(b[4], b[5], b[6], b[7]) === 'ftyp';
  }

  function clock(ms: number, el: HTMLMediaElement): ClockSample & { t: 'clock'; ms: number } {
    return {
      t: 'clock',
      ms,
      time: el.currentTime,
      rate: el.playbackRate,
      paused: el.paused,
      seeking: el.seeking,
      waiting: !el.paused && el.readyState < 3,
      at: performance.timeOrigin + performance.now(),
    };
  }

  let ticks = 0;
  function sendClocks(): void {
    ticks++;
    for (const [ms, el] of elements) if (ticks % 2 === 0 || el.playbackRate !== 1) send(clock(ms, el));
  }

  function attach(ms: MediaSource, el: HTMLMediaElement): void {
    const id = sourceId(ms);
    if (elements.get(id) === el) return;
    elements.set(id, el);
    const sample = () => quietly(() => elements.get(id) === el && send(clock(id, el)));
    // After a change (play, seek, rate) the clock settles within a few hundred ms: sample it closely.
    // One burst at a time: a seek fires seeking, seeked, playing and timeupdate within milliseconds,
    // and overlapping bursts would only repeat the same readings.
    let burst: ReturnType<typeof setTimeout>[] = [];
    const onEvent = (e: Event) => {
      sample();
      if (e.type === 'timeupdate') return;
      for (const t of burst) clearTimeout(t);
      burst = BURST_MS.map((ms) => setTimeout(sample, ms));
    };
    for (const t of CLOCK_EVENTS) el.addEventListener(t, onEvent);
  }

  function wrap<T extends object, K extends keyof T>(
    proto: T,
    name: K,
    after: (self: T, args: unknown[], result: unknown) => void,
  ): void {
    const original = proto[name];
    if (typeof original !== 'function') return;
    const wrapped = function (this: T, ...args: unknown[]) {
      const result = original.apply(this, args);
      quietly(() => after(this, args, result));
      return result;
    };
    Object.defineProperty(proto, name, { value: wrapped, writable: true, configurable: true });
  }

  wrap(MS.prototype, 'addSourceBuffer', (ms, [type], sb) => {
    const mime = String(type);
    const id = sourceId(ms);
    if (/^audio\//i.test(mime)) {
      const sbId = nextId++;
      bufferIds.set(sb as SourceBuffer, sbId);
      emit({ t: 'buffer', ms: id, sb: sbId, mime });
    } else if (/mp4a|opus|vorbis|ac-3|ec-3/i.test(mime)) {
      emit({ t: 'muxed', ms: id, mime });
    }
  });
  wrap(MS.prototype, 'endOfStream', (ms) => emit({ t: 'eos', ms: sourceId(ms) }));

  wrap(SB.prototype, 'appendBuffer', (sb, [data]) => {
    const id = bufferIds.get(sb);
    if (id === undefined) return;
    const view = ArrayBuffer.isView(data)
      ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
      : new Uint8Array(data as ArrayBuffer);
    const bytes = view.slice().buffer;
    const ev: TapEvent = {
      t: 'append',
      sb: id,
      bytes,
      params: {
        timestampOffset: sb.timestampOffset,
        appendWindowStart: sb.appendWindowStart,
        appendWindowEnd: Number.isFinite(sb.appendWindowEnd) ? sb.appendWindowEnd : null,
        mode: sb.mode,
      },
    };
    if (startsInit(view)) latestInit.set(id, ev);
    emit(ev);
  });
  wrap(SB.prototype, 'remove', (sb, [start, end]) => {
    const id = bufferIds.get(sb);
    const z = Number(end);
    if (id !== undefined)
      emit({ t: 'remove', sb: id, start: Number(start), end: Number.isFinite(z) ? z : null });
  });
  wrap(SB.prototype, 'abort', (sb) => {
    const id = bufferIds.get(sb);
    if (id !== undefined) emit({ t: 'abort', sb: id });
  });
  wrap(SB.prototype, 'changeType', (sb, [type]) => {
    const id = bufferIds.get(sb);
    if (id !== undefined) emit({ t: 'type', sb: id, mime: String(type) });
  });

  // Which element a MediaSource plays through: its object URL, set as an element's `src`.
  wrap(URL, 'createObjectURL', (_url, [obj], url) => {
    if (!(obj instanceof MS)) return;
    const ms = obj;
    urlSources.set(String(url), ms);
    sourceId(ms);
    ms.addEventListener('sourceopen', () =>
      quietly(() => {
        if (elements.has(sourceId(ms))) return;
        for (const el of document.querySelectorAll<HTMLMediaElement>('video, audio')) {
          if (el.src === String(url)) attach(ms, el);
        }
      }),
    );
    ms.addEventListener('sourceclose', () =>
      quietly(() => {
        const id = sourceId(ms);
        elements.delete(id);
        urlSources.delete(String(url));
        emit({ t: 'close', ms: id });
      }),
    );
  });
  const src = Object.getOwnPropertyDescriptor(HTMLMediaElement.prototype, 'src');
  if (src?.set && src.get) {
    const set = src.set;
    Object.defineProperty(HTMLMediaElement.prototype, 'src', {
      ...src,
      set(this: HTMLMediaElement, value: string) {
        set.call(this, value);
        quietly(() => {
          const ms = urlSources.get(String(value));
          if (ms) attach(ms, this);
        });
      },
    });
  }

  // The bridge (isolated world) hands over a private port; the page's own listeners never see it.
  let timer: ReturnType<typeof setInterval> | null = null;
  function onCommand(e: MessageEvent<TapCommand>): void {
    quietly(() => {
      if (e.data?.t === 'arm' && !armed) {
        armed = true;
        // The clock first: where the element plays tells the other side which of the replayed
        // appends it need not decode (those far behind the playhead).
        for (const [ms, el] of elements) send(clock(ms, el));
        for (const ev of history) send(ev);
        timer = setInterval(() => quietly(sendClocks), CLOCK_TICK_MS);
      } else if (e.data?.t === 'disarm') {
        armed = false;
        if (timer !== null) clearInterval(timer);
        timer = null;
      }
    });
  }
  addEventListener(
    'message',
    (e: MessageEvent) =>
      quietly(() => {
        if (e.source !== window || e.data?.[TAP_HANDSHAKE] !== 'port' || !e.ports[0]) return;
        e.stopImmediatePropagation();
        port?.close();
        armed = false;
        port = e.ports[0];
        port.onmessage = onCommand;
      }),
    true,
  );
  window.postMessage({ [TAP_HANDSHAKE]: 'hello' }, '*');
})();
