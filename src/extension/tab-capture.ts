/** Tab capture, as the popup (on a click) and the background (on the keyboard shortcut) start it. */

/** A tab-capture stream id for `tabId`, usable by this extension's own pages (the offscreen document). */
export function captureStreamId(tabId: number): Promise<string> {
  return new Promise((resolve, reject) => {
    chrome.tabCapture.getMediaStreamId({ targetTabId: tabId }, (id) => {
      const err = chrome.runtime.lastError;
      if (err || !id) reject(new Error(err?.message ?? 'tab capture gave no stream id'));
      else resolve(id);
    });
  });
}
