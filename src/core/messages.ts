/**
 * Typed messages between the extension's contexts (content script, service worker, offscreen
 * document, popup). One discriminated union per direction; every `type` is unique.
 */
export {};
