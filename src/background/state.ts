/**
 * Pure tab-state transitions. The service worker persists the results; keeping the rules here
 * lets them be unit-tested without a browser.
 */
import type { ContentMessage, EngineStatus, PopupMessage, TabState } from '../extension/messages';

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
    case 'tab/warm':
      return state;
    case 'tab/set-gains':
      return { ...state, gains: msg.gains };
    case 'tab/set-enabled':
      return setEnabled(state, msg.enabled);
    case 'tab/toggle-enabled':
      return setEnabled(state, !state.enabled);
  }
}

/** Switching on starts a fresh engine report and clears the last fault's notice. */
function setEnabled(state: TabState, enabled: boolean): TabState {
  if (enabled === state.enabled) return state;
  return enabled ? { ...state, enabled, engine: null, notice: null } : { ...state, enabled };
}

/**
 * The offscreen engine's report. A failure switches the tab off (its audio is already the page's
 * own again) and keeps the reason for the popup; reports for a tab that is off are stale and ignored.
 */
export function applyEngineStatus(state: TabState, status: EngineStatus): TabState {
  if (!state.enabled) return state;
  if (status.phase === 'failed') {
    return { ...state, enabled: false, engine: status, notice: status.error ?? 'the remix stopped' };
  }
  return { ...state, engine: status };
}

/** The remix stopped for a reason outside the engine (page left, another tab, capture refused). */
export function switchedOff(state: TabState, notice: string): TabState {
  return { ...state, enabled: false, notice };
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
