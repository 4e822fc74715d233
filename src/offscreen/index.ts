/**
 * Offscreen document: the future home of capture → separation → remix (service workers have no
 * Web Audio). It processes no audio yet; it only answers a ping so its lifecycle can be tested.
 */
import { type OffscreenStatusReply, parseMessage } from '../core/messages';

chrome.runtime.onMessage.addListener((raw: unknown, _sender, sendResponse) => {
  const msg = parseMessage(raw);
  if (msg?.type !== 'offscreen/ping') return false; // everything else is the service worker's
  sendResponse({
    ok: true,
    processing: false,
    note: 'placeholder: no audio is captured or processed yet',
  } satisfies OffscreenStatusReply);
  return false;
});
