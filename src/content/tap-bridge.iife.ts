/**
 * The isolated-world half of the read-ahead tap (document_start, all frames, YouTube hosts only):
 * hands the page-world tap (page-tap.iife.ts) a private MessageChannel port, and while the tab's
 * remix runs relays its events to the offscreen document over a runtime port.
 *
 * Armed by the service worker (`tap/arm`, sent when the remix starts); the offscreen document
 * closing the runtime port (the remix ended, the document closed) disarms it, so nothing flows
 * while the remix is off.
 */
import browser, { type Runtime } from 'webextension-polyfill';
import { bytesToBase64, TAP_HANDSHAKE, TAP_PORT_NAME, type TapEvent } from './tap-protocol';

let page: MessagePort | null = null;
let extension: Runtime.Port | null = null;

function relay(ev: TapEvent): void {
  if (!extension) return;
  try {
    extension.postMessage(ev.t === 'append' ? { ...ev, bytes: bytesToBase64(ev.bytes) } : ev);
  } catch {
    disarm(); // the offscreen document went away between its disconnect and this event
  }
}

/** A fresh private channel to the page-world tap (on load, and whenever it says hello). */
function offerPort(): void {
  const channel = new MessageChannel();
  page?.close();
  page = channel.port1;
  page.onmessage = (e: MessageEvent<TapEvent>) => relay(e.data);
  window.postMessage({ [TAP_HANDSHAKE]: 'port' }, '*', [channel.port2]);
  if (extension) page.postMessage({ t: 'arm' });
}

function arm(): void {
  if (extension) return;
  const port = browser.runtime.connect({ name: TAP_PORT_NAME });
  extension = port;
  port.onDisconnect.addListener(() => {
    if (extension === port) disarm();
  });
  page?.postMessage({ t: 'arm' });
}

function disarm(): void {
  const port = extension;
  extension = null;
  page?.postMessage({ t: 'disarm' });
  try {
    port?.disconnect();
  } catch {
    // already gone
  }
}

addEventListener('message', (e: MessageEvent) => {
  if (e.source === window && e.data?.[TAP_HANDSHAKE] === 'hello') offerPort();
});
offerPort();

// Polyfill contract: a returned promise is the reply; `undefined` leaves the message to others.
browser.runtime.onMessage.addListener((raw: unknown) => {
  const type = (raw as { type?: unknown } | null)?.type;
  if (type === 'tap/arm') {
    arm();
    return Promise.resolve({ ok: true });
  }
  if (type === 'tap/disarm') {
    disarm();
    return Promise.resolve({ ok: true });
  }
  return undefined;
});
