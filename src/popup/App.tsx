import { useCallback, useEffect, useState } from 'preact/hooks';
import browser from 'webextension-polyfill';
import { errorText } from '../core/errors';
import type { StemName } from '../core/stems';
import type { PopupMessage, TabState, TabStateReply } from '../extension/messages';
import { captureStreamId } from '../extension/tab-capture';
import { describeEngine, describeEngineChoice, describeMedia, describeMode } from './format';
import {
  effectiveGains,
  formatDb,
  gainToPercent,
  type MixSettings,
  ORIGINAL_MIX,
  percentToGain,
  presetsFor,
  rowsFor,
  type StemSetting,
  sameMix,
  settingOf,
  withStem,
} from './mix';
import { modelStems } from './model-stems';
import { ANY_PAGE, loadSiteMix, saveSiteMix } from './settings';

const POLL_MS = 1000;

async function ask(msg: PopupMessage): Promise<TabState> {
  const reply = (await browser.runtime.sendMessage(msg)) as TabStateReply | undefined;
  if (!reply) throw new Error('no reply from the service worker');
  if (!reply.ok) throw new Error(reply.error);
  return reply.state;
}

/**
 * The tab to show: `?tab=<id>` when given (the popup opened as a page, as the e2e suite does),
 * otherwise the active tab of the popup's window.
 */
async function targetTabId(): Promise<number> {
  const param = new URLSearchParams(location.search).get('tab');
  if (param !== null) {
    const id = Number(param);
    if (Number.isInteger(id) && id >= 0) return id;
    throw new Error(`bad ?tab= parameter: ${param}`);
  }
  const [tab] = await browser.tabs.query({ active: true, currentWindow: true });
  if (tab?.id === undefined) throw new Error('no active tab');
  return tab.id;
}

export function App() {
  const [tabId, setTabId] = useState<number | null>(null);
  const [state, setState] = useState<TabState | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [mix, setMix] = useState<MixSettings>(ORIGINAL_MIX);
  const [loadedHost, setLoadedHost] = useState<string | null>(null);
  const [now, setNow] = useState(Date.now());

  const fail = useCallback((e: unknown) => setError(errorText(e)), []);

  useEffect(() => {
    targetTabId().then(setTabId, fail);
  }, [fail]);

  // Opening the popup usually comes right before switching on: on YouTube the worker starts now.
  useEffect(() => {
    if (tabId !== null) ask({ type: 'tab/warm', tabId }).catch(() => undefined);
  }, [tabId]);

  // Poll the worker: it is the single source of tab state, and one second keeps the clock live.
  useEffect(() => {
    if (tabId === null) return;
    let alive = true;
    const refresh = () =>
      ask({ type: 'tab/get', tabId }).then((s) => {
        if (!alive) return;
        setState(s);
        setNow(Date.now());
        setError(null);
      }, fail);
    void refresh();
    const timer = setInterval(refresh, POLL_MS);
    return () => {
      alive = false;
      clearInterval(timer);
    };
  }, [tabId, fail]);

  // Pages without the content script (any site but the three) still remix: their settings are
  // remembered under one shared entry.
  const hostname = state === null ? null : (state.hostname ?? ANY_PAGE);
  useEffect(() => {
    if (hostname === null || hostname === loadedHost) return;
    loadSiteMix(hostname).then((saved) => {
      setMix(saved ?? ORIGINAL_MIX);
      setLoadedHost(hostname);
    }, fail);
  }, [hostname, loadedHost, fail]);

  const ready = tabId !== null && hostname !== null && hostname === loadedHost;
  const stems = modelStems(state?.engine?.stems);

  const applyMix = (next: MixSettings) => {
    if (!ready || tabId === null || hostname === null) return;
    setMix(next);
    saveSiteMix(hostname, next).catch(fail);
    ask({ type: 'tab/set-gains', tabId, gains: effectiveGains(next, stems) }).then(setState, fail);
  };

  const toggleEnabled = () => {
    if (tabId === null || state === null) return;
    if (state.enabled) {
      ask({ type: 'tab/set-enabled', tabId, enabled: false }).then(setState, fail);
      return;
    }
    // The popup's own invocation is the user gesture tab capture needs: ask for the stream id here.
    // If that is refused (e.g. the popup was opened as a page), the worker tries itself.
    captureStreamId(tabId)
      .catch(() => undefined)
      .then((streamId) => ask({ type: 'tab/set-enabled', tabId, enabled: true, streamId }))
      .then(setState, fail);
  };

  const enabled = state?.enabled ?? false;
  const effective = effectiveGains(mix, stems);
  const presets = presetsFor(stems);
  const activePreset = presets.find((p) => sameMix(p.mix, mix, stems))?.id ?? null;

  return (
    <main class="popup">
      <header class="top">
        <h1>Stemdeck</h1>
        <button
          type="button"
          role="switch"
          class="switch"
          aria-checked={enabled}
          aria-label="Remix this tab"
          disabled={state === null}
          onClick={toggleEnabled}
        >
          <span class="knob" aria-hidden="true" />
          <span class="switch-text">{enabled ? 'On' : 'Off'}</span>
        </button>
      </header>

      <p class="status" role="status" data-testid="engine-status">
        {describeEngine(state)}
      </p>
      {describeMode(state) !== null && (
        <p class="sync" data-testid="sync-status">
          {describeMode(state)}
        </p>
      )}
      {describeEngineChoice(state) !== null && (
        <p class="engine-note" data-testid="engine-choice">
          {describeEngineChoice(state)}
        </p>
      )}
      {/* Not a live region: it ticks every second and would flood a screen reader. */}
      <p class="media" data-testid="media-status">
        {describeMedia(state, now)}
      </p>
      {error !== null && (
        <p class="error" role="alert">
          {error}
        </p>
      )}

      <fieldset class="presets">
        <legend class="visually-hidden">Presets</legend>
        {presets.map((p) => (
          <button
            key={p.id}
            type="button"
            data-preset={p.id}
            aria-pressed={activePreset === p.id}
            aria-label={`Preset: ${p.label}`}
            disabled={!ready}
            onClick={() => applyMix(p.mix)}
          >
            {p.label}
          </button>
        ))}
      </fieldset>

      <ul class="stems" aria-label="Stems">
        {rowsFor(stems).map((info) => {
          const stem = info.name;
          return (
            <StemRow
              key={stem}
              stem={stem}
              label={info.label}
              colour={info.colour}
              setting={settingOf(mix, stem)}
              silent={effective[stem] === 0}
              disabled={!ready}
              onChange={(change) => applyMix(withStem(mix, stem, change))}
            />
          );
        })}
      </ul>

      <footer class="foot">
        {hostname !== null && hostname !== ANY_PAGE ? (
          <>
            Settings are remembered for <strong>{hostname}</strong>.
          </>
        ) : hostname === ANY_PAGE ? (
          'Settings are remembered for pages other than YouTube and Spotify.'
        ) : (
          'Settings are remembered per site.'
        )}
      </footer>
    </main>
  );
}

interface StemRowProps {
  stem: StemName;
  label: string;
  colour: string;
  setting: StemSetting;
  /** Effectively silent (muted, or another stem is soloed): the row is dimmed. */
  silent: boolean;
  disabled: boolean;
  onChange: (change: Partial<StemSetting>) => void;
}

function StemRow({ stem, label, colour, setting, silent, disabled, onChange }: StemRowProps) {
  const percent = gainToPercent(setting.gain);
  const db = formatDb(setting.gain);
  const id = `gain-${stem}`;
  return (
    <li class={silent ? 'stem silent' : 'stem'} data-stem={stem} style={{ '--stem-colour': colour }}>
      <label class="stem-label" for={id}>
        <span class="swatch" aria-hidden="true" />
        {label}
      </label>
      <input
        id={id}
        type="range"
        min={0}
        max={100}
        step={1}
        value={percent}
        disabled={disabled}
        aria-label={`${label} level`}
        aria-valuetext={`${percent} %, ${db}`}
        onInput={(e) => onChange({ gain: percentToGain(Number(e.currentTarget.value)) })}
      />
      <output class="db" for={id} aria-label={`${label} level in decibels`}>
        {percent}% · {db}
      </output>
      <button
        type="button"
        class="mute"
        aria-pressed={setting.muted}
        aria-label={`Mute ${label}`}
        disabled={disabled}
        onClick={() => onChange({ muted: !setting.muted })}
      >
        M
      </button>
      <button
        type="button"
        class="solo"
        aria-pressed={setting.solo}
        aria-label={`Solo ${label}`}
        disabled={disabled}
        onClick={() => onChange({ solo: !setting.solo })}
      >
        S
      </button>
    </li>
  );
}
