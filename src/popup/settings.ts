/** Per-site mixer settings in chrome.storage.local, keyed by hostname. */
import { type MixSettings, parseMixSettings } from './mix';

export const siteKey = (hostname: string) => `site:${hostname}`;

export async function loadSiteMix(hostname: string): Promise<MixSettings | null> {
  const k = siteKey(hostname);
  const got = await chrome.storage.local.get(k);
  return parseMixSettings(got[k]);
}

export async function saveSiteMix(hostname: string, mix: MixSettings): Promise<void> {
  await chrome.storage.local.set({ [siteKey(hostname)]: mix });
}
