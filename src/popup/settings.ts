/** Per-site mixer settings in storage.local, keyed by hostname. */
import browser from 'webextension-polyfill';
import { type MixSettings, parseMixSettings } from './mix';

export const siteKey = (hostname: string) => `site:${hostname}`;

/** The settings entry for pages the content script does not run on (no hostname reported). */
export const ANY_PAGE = '*';

export async function loadSiteMix(hostname: string): Promise<MixSettings | null> {
  const k = siteKey(hostname);
  const got = await browser.storage.local.get(k);
  return parseMixSettings(got[k]);
}

export async function saveSiteMix(hostname: string, mix: MixSettings): Promise<void> {
  await browser.storage.local.set({ [siteKey(hostname)]: mix });
}
