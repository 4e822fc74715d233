/**
 * Pure tab-state transitions. The service worker persists the results; keeping the rules here
 * lets them be unit-tested without a browser.
 */
import type { ContentMessage, PopupMessage, TabState } from '../core/messages';

export function applyContentMessage(state: TabState, msg: ContentMessage): TabState {
  switch (msg.type) {
    case 'media/state':
      return { ...state, hostname: msg.hostname, media: msg.media };
    case 'page/hide':
      // The page left: its media and site no longer describe this tab. The user's switch stays.
      return { ...state, hostname: null, media: null };
  }
}

export function applyPopupMessage(state: TabState, msg: PopupMessage): TabState {
  switch (msg.type) {
    case 'tab/get':
      return state;
    case 'tab/set-gains':
      return { ...state, gains: msg.gains };
    case 'tab/set-enabled':
      return { ...state, enabled: msg.enabled };
    case 'tab/toggle-enabled':
      return { ...state, enabled: !state.enabled };
  }
}

/** Who may send what: content messages only from a tab's top frame, popup messages only from our pages. */
export interface SenderInfo {
  readonly fromExtension: boolean;
  readonly extensionPage: boolean;
  readonly tabId: number | null;
  readonly frameId: number | null;
}

export function contentSenderTab(sender: SenderInfo): number | null {
  if (!sender.fromExtension || sender.extensionPage) return null;
  if (sender.tabId === null || sender.frameId !== 0) return null;
  return sender.tabId;
}

export function mayControlTabs(sender: SenderInfo): boolean {
  return sender.fromExtension && sender.extensionPage;
}
