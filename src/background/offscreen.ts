/**
 * The offscreen document hosts the remix (service workers have no Web Audio). The worker opens it
 * while some tab's remix is switched on (and for `WARM_MS` after the popup opened on a YouTube tab,
 * to start the separation worker early) and closes it when none is: closing it also ends any
 * capture, so the page's own audio comes back even if a stop message were lost.
 */
import browser from 'webextension-polyfill';
import type { OffscreenMessage, OffscreenStatusReply } from '../extension/messages';

const OFFSCREEN_PATH = 'src/offscreen/index.html';

// chrome.* on purpose: the polyfill has no chrome.offscreen and its types lack the OFFSCREEN_DOCUMENT context.

export async function hasOffscreen(): Promise<boolean> {
  const contexts = await chrome.runtime.getContexts({
    contextTypes: [chrome.runtime.ContextType.OFFSCREEN_DOCUMENT],
    documentUrls: [chrome.runtime.getURL(OFFSCREEN_PATH)],
  });
  return contexts.length > 0;
}

/** Call only from inside `serialised` (store.ts): two concurrent createDocument calls throw. */
export async function syncOffscreen(wanted: boolean): Promise<void> {
  const open = await hasOffscreen();
  if (wanted && !open) {
    await chrome.offscreen.createDocument({
      url: OFFSCREEN_PATH,
      reasons: [chrome.offscreen.Reason.USER_MEDIA],
      justification:
        'Receives the tab audio stream (tabCapture), separates it into stems and plays the remix.',
    });
  } else if (!wanted && open) {
    await chrome.offscreen.closeDocument();
  }
}

/** Sends to the offscreen document (which must be open) and returns its status reply. */
export async function toOffscreen(msg: OffscreenMessage): Promise<OffscreenStatusReply> {
  const reply = (await browser.runtime.sendMessage(msg)) as OffscreenStatusReply | undefined;
  if (!reply) throw new Error('the offscreen document did not answer');
  return reply;
}
