/**
 * The offscreen document is where audio processing will live (service workers have no Web Audio).
 * Today it is a placeholder: the worker opens it while any tab's remix is switched on and closes
 * it when none is, so the lifecycle is real and tested before the audio path exists.
 */
const OFFSCREEN_PATH = 'src/offscreen/index.html';

// chrome.* on purpose: the polyfill has no chrome.offscreen and its types lack the OFFSCREEN_DOCUMENT context.

async function hasOffscreen(): Promise<boolean> {
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
      justification: 'Will receive the tab audio stream to separate and remix it (placeholder for now).',
    });
  } else if (!wanted && open) {
    await chrome.offscreen.closeDocument();
  }
}
