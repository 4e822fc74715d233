/**
 * Service worker: routes messages, keeps per-tab state (store.ts), handles the toggle-remix command.
 * Listeners are registered synchronously at top level so a restarted worker receives the event
 * that woke it.
 */
import browser, { type Runtime } from 'webextension-polyfill';
import {
  type AckReply,
  type ContentMessage,
  isContentMessage,
  isPopupMessage,
  type PopupMessage,
  parseMessage,
  type TabState,
  type TabStateReply,
} from '../core/messages';
import { syncOffscreen } from './offscreen';
import {
  applyContentMessage,
  applyPopupMessage,
  contentSenderTab,
  mayControlTabs,
  type SenderInfo,
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

/** The offscreen document is open exactly while some tab's remix is switched on. */
function syncOffscreenToTabs(): Promise<void> {
  return serialised(async () => {
    const tabs = await readAllTabs();
    await syncOffscreen(tabs.some((t) => t.enabled));
  });
}

/** The single entry point for popup messages and the keyboard command. */
async function handlePopupMessage(msg: PopupMessage): Promise<TabState> {
  if (msg.type === 'tab/get') return readTab(msg.tabId);
  const { before, after } = await updateTab(msg.tabId, (s) => applyPopupMessage(s, msg));
  if (after.enabled !== before.enabled) {
    // The badge makes the keyboard command visible; it changes nothing about the page's audio.
    await browser.action.setBadgeText({ tabId: after.tabId, text: after.enabled ? 'ON' : '' });
    await syncOffscreenToTabs();
  }
  return after;
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

type Reply = AckReply | TabStateReply;

/** Answers a content or popup message; never rejects: every failure becomes an `ErrorReply`. */
async function answer(msg: ContentMessage | PopupMessage, info: SenderInfo): Promise<Reply> {
  try {
    if (isContentMessage(msg)) {
      const tabId = contentSenderTab(info);
      if (tabId === null) return { ok: false, error: 'content messages must come from a tab' };
      await updateTab(tabId, (s) => applyContentMessage(s, msg));
      return { ok: true };
    }
    if (!mayControlTabs(info)) return { ok: false, error: 'only extension pages may control tabs' };
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
  if (!isContentMessage(msg) && !isPopupMessage(msg)) return undefined;
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
    await serialised(() => removeTab(tabId));
    await syncOffscreenToTabs();
  })().catch((e: unknown) => console.warn('Stemdeck: cleanup failed:', errorText(e)));
});
