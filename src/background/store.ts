/**
 * Per-tab state in storage.session: MV3 service workers are stopped after ~30 s idle, and
 * anything kept only in globals would be lost. Session storage is cleared when the browser quits,
 * which is what per-tab state wants.
 * (The polyfill has no wrapper for storage.session: `browser.storage.session` is Chrome's own
 * promise-returning area, passed through.)
 */
import browser from 'webextension-polyfill';
import { emptyTabState, parseTabState, type TabState } from '../extension/messages';

const PREFIX = 'tab:';
const key = (tabId: number) => `${PREFIX}${tabId}`;

export async function readTab(tabId: number): Promise<TabState> {
  const k = key(tabId);
  const got = await browser.storage.session.get(k);
  return parseTabState(got[k]) ?? emptyTabState(tabId);
}

export async function writeTab(state: TabState): Promise<void> {
  await browser.storage.session.set({ [key(state.tabId)]: state });
}

export async function removeTab(tabId: number): Promise<void> {
  await browser.storage.session.remove(key(tabId));
}

export async function readAllTabs(): Promise<TabState[]> {
  const all = await browser.storage.session.get(null);
  return Object.entries(all)
    .filter(([k]) => k.startsWith(PREFIX))
    .map(([, v]) => parseTabState(v))
    .filter((s): s is TabState => s !== null);
}

/**
 * Serialises read-modify-write updates. Messages arrive concurrently (a seek fires several media
 * events at once) and two interleaved `get`/`set` pairs would drop one of them.
 */
let queue: Promise<unknown> = Promise.resolve();
export function serialised<T>(task: () => Promise<T>): Promise<T> {
  const run = queue.then(task, task);
  queue = run.catch(() => undefined);
  return run;
}

/** Applies `change` atomically (with respect to other updates) and returns both states. */
export function updateTab(
  tabId: number,
  change: (s: TabState) => TabState,
): Promise<{ before: TabState; after: TabState }> {
  return serialised(async () => {
    const before = await readTab(tabId);
    const after = change(before);
    if (after !== before) await writeTab(after);
    return { before, after };
  });
}
