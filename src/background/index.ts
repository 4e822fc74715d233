/**
 * Service worker: routes messages, keeps per-tab state (store.ts), handles the toggle-remix command.
 * Listeners are registered synchronously at top level so a restarted worker receives the event
 * that woke it.
 */
import browser, { type Runtime } from 'webextension-polyfill';
import { READ_AHEAD_HOSTS, TEST_READ_AHEAD_HOST } from '../content/tap-protocol';
import { errorText } from '../core/errors';
import {
  type AckReply,
  type ContentMessage,
  type EngineStatusMessage,
  isContentMessage,
  isPopupMessage,
  KEEP_WARM_MS,
  type PopupMessage,
  parseMessage,
  type StemGains,
  type TabState,
  type TabStateReply,
  WARM_MS,
} from '../extension/messages';
import { captureStreamId } from '../extension/tab-capture';
import { hasOffscreen, syncOffscreen, toOffscreen } from './offscreen';
import {
  applyContentMessage,
  applyEngineStatus,
  applyPopupMessage,
  contentSenderTab,
  mayControlTabs,
  type SenderInfo,
  switchedOff,
} from './state';
import { readAllTabs, readTab, removeTab, serialised, updateTab } from './store';

const EXTENSION_ORIGIN = browser.runtime.getURL('');

function senderInfo(sender: Runtime.MessageSender): SenderInfo {
  return {
    fromExtension: sender.id === browser.runtime.id,
    extensionPage: typeof sender.url === 'string' && sender.url.startsWith(EXTENSION_ORIGIN),
    tabId: sender.tab?.id ?? null,
    frameId: sender.frameId ?? null,
  };
}

/**
 * Until when (`WARM_MS` after the popup opened on a YouTube tab, `KEEP_WARM_MS` after the user switched
 * a remix off there) a warm separation worker keeps the offscreen document open; the document closes the worker itself then, and the document closes at
 * the next sync after that. Until a warm worker may keep the offscreen document open (worker memory: a restart forgets it). */
let warmUntil = 0;

/** The offscreen document is open while some tab's remix is switched on (or a worker is warm for one). */
function syncOffscreenToTabs(): Promise<void> {
  return serialised(async () => {
    const tabs = await readAllTabs();
    await syncOffscreen(tabs.some((t) => t.enabled) || Date.now() < warmUntil);
  });
}

/** The popup opened on a tab where the in-sync remix is likely: its worker starts now. */
async function warm(tabId: number): Promise<void> {
  const state = await readTab(tabId);
  if (state.enabled || !readAheadHost(state.hostname)) return;
  warmUntil = Date.now() + WARM_MS;
  await serialised(() => syncOffscreen(true));
  await toOffscreen({ type: 'offscreen/warm', tabId }).catch(() => undefined);
}

/** No gains from the popup yet: every stem unchanged. */
const UNITY_GAINS: StemGains = {};

async function setBadge(state: TabState): Promise<void> {
  // The badge makes the keyboard command visible.
  await browser.action.setBadgeText({ tabId: state.tabId, text: state.enabled ? 'ON' : '' }).catch(() => {
    // the tab may be gone
  });
}

/** Switches a tab's remix off with a reason the popup shows; its capture ends, its audio returns. */
async function switchOff(tabId: number, notice: string): Promise<TabState> {
  const { after } = await updateTab(tabId, (s) => (s.enabled ? switchedOff(s, notice) : s));
  await setBadge(after);
  if (await hasOffscreen()) {
    await toOffscreen({ type: 'offscreen/stop', tabId, reason: notice }).catch(() => undefined);
  }
  await syncOffscreenToTabs();
  return after;
}

/**
 * Is this tab's host one where the read-ahead tap runs (YouTube)? Only the release hosts, and in
 * test builds the e2e server's stand-in YouTube host: on the server's own address (where test
 * builds also run the tap) most pages have no MSE feed, and starting the separation worker there
 * would only compete with the delayed path.
 */
function readAheadHost(hostname: string | null): boolean {
  if (hostname === null) return false;
  return (
    READ_AHEAD_HOSTS.includes(hostname) ||
    (import.meta.env.MODE === 'test' && hostname === TEST_READ_AHEAD_HOST)
  );
}

/**
 * Starts the remix of a tab that was just switched on: one tab at a time, a tab-capture stream id
 * (from the popup, or asked for here for the keyboard command), then the offscreen engine. Any
 * failure switches the tab back off with the reason; the page's audio was never taken.
 */
async function startRemix(state: TabState, streamId: string | undefined): Promise<TabState> {
  for (const other of await readAllTabs()) {
    if (other.tabId !== state.tabId && other.enabled) {
      await updateTab(other.tabId, (s) => switchedOff(s, 'The remix moved to another tab.'));
      await setBadge({ ...other, enabled: false });
    }
  }
  await setBadge(state);
  try {
    const id = streamId ?? (await captureStreamId(state.tabId));
    await serialised(() => syncOffscreen(true));
    const reply = await toOffscreen({
      type: 'offscreen/start',
      tabId: state.tabId,
      streamId: id,
      gains: state.gains ?? UNITY_GAINS,
      readAhead: readAheadHost(state.hostname),
    });
    if (!reply.ok) throw new Error(reply.error);
    // Arm the read-ahead tap (YouTube hosts only; elsewhere no frame answers and capture alone
    // serves). Its port to the offscreen document closes with the session, which disarms it.
    browser.tabs.sendMessage(state.tabId, { type: 'tap/arm' }).catch(() => undefined);
    if (reply.status) await applyStatus({ type: 'engine/status', tabId: state.tabId, status: reply.status });
    return await readTab(state.tabId);
  } catch (e) {
    return switchOff(state.tabId, `The remix could not start: ${errorText(e)}. The page’s own audio plays.`);
  }
}

/** An engine report: stored for the popup; a failure switches the tab off (fail open). */
async function applyStatus(msg: EngineStatusMessage): Promise<void> {
  const { before, after } = await updateTab(msg.tabId, (s) => applyEngineStatus(s, msg.status));
  if (before.enabled && !after.enabled) {
    await setBadge(after);
    await syncOffscreenToTabs();
  }
}

/** The single entry point for popup messages and the keyboard command. */
async function handlePopupMessage(msg: PopupMessage): Promise<TabState> {
  // Switching off: end the capture before anything else (storage updates queue behind engine
  // reports), so the page's audio is back at once.
  if (msg.type === 'tab/set-enabled' || msg.type === 'tab/toggle-enabled') {
    const tab = await readTab(msg.tabId);
    const wantsOff = msg.type === 'tab/set-enabled' ? !msg.enabled : tab.enabled;
    if (wantsOff && (await hasOffscreen())) {
      await toOffscreen({
        type: 'offscreen/stop',
        tabId: msg.tabId,
        reason: 'switched off',
        keepWorker: true,
      }).catch(() => undefined);
      // The user's own switch-off: where the remix ran in sync its worker stays ready for a while
      // (the document with it: `warmUntil`, read at the sync below), so that switching back on is quick.
      if (readAheadHost(tab.hostname)) warmUntil = Math.max(warmUntil, Date.now() + KEEP_WARM_MS);
    }
  }
  if (msg.type === 'tab/warm') {
    await warm(msg.tabId);
    return readTab(msg.tabId);
  }
  if (msg.type === 'tab/get') {
    const state = await readTab(msg.tabId);
    // The offscreen document can vanish without a word (crash, closed from outside): its capture
    // ended with it, so the page already plays its own audio — say so instead of "Remixing".
    if (state.enabled && state.engine !== null && !(await hasOffscreen())) {
      return switchOff(state.tabId, 'The remix engine closed unexpectedly, so the page’s own audio plays.');
    }
    return state;
  }
  const { before, after } = await updateTab(msg.tabId, (s) => applyPopupMessage(s, msg));
  if (after.enabled && !before.enabled) {
    return startRemix(after, msg.type === 'tab/set-enabled' ? msg.streamId : undefined);
  }
  if (!after.enabled && before.enabled) {
    await setBadge(after);
    await syncOffscreenToTabs();
  }
  if (msg.type === 'tab/set-gains' && after.enabled && (await hasOffscreen())) {
    await toOffscreen({ type: 'offscreen/gains', tabId: after.tabId, gains: msg.gains });
  }
  return after;
}

type Reply = AckReply | TabStateReply;

/** Answers a content or popup message; never rejects: every failure becomes an `ErrorReply`. */
async function answer(
  msg: ContentMessage | PopupMessage | EngineStatusMessage,
  info: SenderInfo,
): Promise<Reply> {
  try {
    if (isContentMessage(msg)) {
      const tabId = contentSenderTab(info);
      if (tabId === null) return { ok: false, error: 'content messages must come from a tab' };
      const { before } = await updateTab(tabId, (s) => applyContentMessage(s, msg));
      if (msg.type === 'page/hide' && before.enabled) {
        await switchOff(
          tabId,
          'The page navigated away, so the remix stopped and the page’s own audio plays.',
        );
      }
      return { ok: true };
    }
    if (!mayControlTabs(info)) return { ok: false, error: 'only extension pages may control tabs' };
    if (msg.type === 'engine/status') {
      await applyStatus(msg);
      return { ok: true };
    }
    return { ok: true, state: await handlePopupMessage(msg) };
  } catch (e) {
    return { ok: false, error: errorText(e) };
  }
}

// The polyfill's contract: a returned promise is the reply; `undefined` leaves the message to
// another listener (the offscreen document), exactly as `return false` did with chrome.*.
browser.runtime.onMessage.addListener((raw: unknown, sender: Runtime.MessageSender) => {
  const msg = parseMessage(raw);
  if (!msg) return Promise.resolve<Reply>({ ok: false, error: 'malformed message' });
  // Messages for the offscreen document: not ours to answer.
  if (!isContentMessage(msg) && !isPopupMessage(msg) && msg.type !== 'engine/status') return undefined;
  return answer(msg, senderInfo(sender));
});

browser.commands.onCommand.addListener((command, tab) => {
  if (command !== 'toggle-remix' || tab?.id === undefined) return;
  handlePopupMessage({ type: 'tab/toggle-enabled', tabId: tab.id }).catch((e: unknown) =>
    console.warn('Stemdeck: toggle-remix failed:', errorText(e)),
  );
});

browser.tabs.onRemoved.addListener((tabId) => {
  void (async () => {
    const state = await readTab(tabId);
    if (state.enabled && (await hasOffscreen())) {
      await toOffscreen({ type: 'offscreen/stop', tabId, reason: 'tab closed' }).catch(() => undefined);
    }
    await serialised(() => removeTab(tabId));
    await syncOffscreenToTabs();
  })().catch((e: unknown) => console.warn('Stemdeck: cleanup failed:', errorText(e)));
});

// Muting a captured tab does not silence the capture: the remix would go on playing what the user
// just muted. Muting means "silence": hand the tab back (Chrome then mutes it as asked).
browser.tabs.onUpdated.addListener((tabId, changeInfo) => {
  if (changeInfo.mutedInfo?.muted !== true) return;
  void (async () => {
    if ((await readTab(tabId)).enabled) {
      await switchOff(tabId, 'The tab was muted, so the remix stopped.');
    }
  })().catch((e: unknown) => console.warn('Stemdeck: mute handling failed:', errorText(e)));
});
