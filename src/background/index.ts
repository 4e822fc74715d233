/**
 * Service worker: routes messages, keeps per-tab state (store.ts), handles the toggle-remix command.
 * Listeners are registered synchronously at top level so a restarted worker receives the event
 * that woke it.
 */
import {
  type AckReply,
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

const EXTENSION_ORIGIN = chrome.runtime.getURL('');

function senderInfo(sender: chrome.runtime.MessageSender): SenderInfo {
  return {
    fromExtension: sender.id === chrome.runtime.id,
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
    await chrome.action.setBadgeText({ tabId: after.tabId, text: after.enabled ? 'ON' : '' });
    await syncOffscreenToTabs();
  }
  return after;
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

chrome.runtime.onMessage.addListener((raw: unknown, sender, sendResponse) => {
  const msg = parseMessage(raw);
  if (!msg) {
    sendResponse({ ok: false, error: 'malformed message' } satisfies AckReply);
    return false;
  }
  const info = senderInfo(sender);
  if (isContentMessage(msg)) {
    const tabId = contentSenderTab(info);
    if (tabId === null) {
      sendResponse({ ok: false, error: 'content messages must come from a tab' } satisfies AckReply);
      return false;
    }
    updateTab(tabId, (s) => applyContentMessage(s, msg)).then(
      () => sendResponse({ ok: true } satisfies AckReply),
      (e: unknown) => sendResponse({ ok: false, error: errorText(e) } satisfies AckReply),
    );
    return true; // reply is async
  }
  if (isPopupMessage(msg)) {
    if (!mayControlTabs(info)) {
      sendResponse({ ok: false, error: 'only extension pages may control tabs' } satisfies TabStateReply);
      return false;
    }
    handlePopupMessage(msg).then(
      (state) => sendResponse({ ok: true, state } satisfies TabStateReply),
      (e: unknown) => sendResponse({ ok: false, error: errorText(e) } satisfies TabStateReply),
    );
    return true;
  }
  // Messages for the offscreen document: not ours to answer.
  return false;
});

chrome.commands.onCommand.addListener((command, tab) => {
  if (command !== 'toggle-remix' || tab?.id === undefined) return;
  handlePopupMessage({ type: 'tab/toggle-enabled', tabId: tab.id }).catch((e: unknown) =>
    console.warn('Stemdeck: toggle-remix failed:', errorText(e)),
  );
});

chrome.tabs.onRemoved.addListener((tabId) => {
  void (async () => {
    await serialised(() => removeTab(tabId));
    await syncOffscreenToTabs();
  })().catch((e: unknown) => console.warn('Stemdeck: cleanup failed:', errorText(e)));
});
