/**
 * Records the URL of every request that the browser's pages and workers start (web pages,
 * extension pages, the offscreen document, the service worker). Complements the proxy in
 * server.ts: the proxy sees real network traffic, including the browser's own; this sees each
 * context's requests, chrome-extension:// and loopback included, and says which context made it.
 *
 * It reuses puppeteer's own CDP sessions: a second session on a worker target closes the first.
 */
import type { Browser, Target } from 'puppeteer';

export interface NetLog {
  readonly urls: { readonly url: string; readonly from: string }[];
}

export function recordRequests(browser: Browser): NetLog {
  const log: NetLog = { urls: [] };
  const watch = async (target: Target) => {
    const from = target.url();
    try {
      if (target.type() === 'page' || target.type() === 'background_page') {
        const page = await target.page();
        page?.on('request', (r) => log.urls.push({ url: r.url(), from: page.url() || from }));
      } else if (target.type() === 'service_worker' || target.type() === 'shared_worker') {
        const worker = await target.worker();
        if (!worker) return;
        worker.client.on('Network.requestWillBeSent', (e) => log.urls.push({ url: e.request.url, from }));
        await worker.client.send('Network.enable');
      }
    } catch {
      // The target went away before we attached (e.g. a closed offscreen document): nothing to log.
    }
  };
  for (const t of browser.targets()) void watch(t);
  browser.on('targetcreated', (t: Target) => void watch(t));
  return log;
}
