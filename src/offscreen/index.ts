/**
 * Offscreen document: the future home of capture → separation → remix (service workers have no
 * Web Audio). It processes no audio yet; it only answers a ping so its lifecycle can be tested.
 */
import browser from 'webextension-polyfill';
import { type OffscreenStatusReply, parseMessage } from '../core/messages';

// Polyfill contract: a returned promise is the reply; `undefined` leaves the message to the worker.
browser.runtime.onMessage.addListener((raw: unknown): Promise<OffscreenStatusReply> | undefined => {
  const msg = parseMessage(raw);
  if (msg?.type !== 'offscreen/ping') return undefined; // everything else is the service worker's
  return Promise.resolve({
    ok: true,
    processing: false,
    note: 'placeholder: no audio is captured or processed yet',
  } satisfies OffscreenStatusReply);
});
