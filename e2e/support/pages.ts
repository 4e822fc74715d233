/**
 * Test pages that behave like the sites the extension is for, served by server.ts (`pages`):
 * a YouTube-like single-page app and a Media Source Extensions player. Each page reports what it
 * is doing in `document.body.dataset` so a test can wait for it without guessing.
 */

/** The SPA's two "videos" and its ad: paths on the test server (any media a <video> plays). */
export interface SpaMedia {
  readonly one: string;
  readonly two: string;
  readonly ad: string;
}

const safe = (path: string) => path.replace(/[^\w./-]/g, '');

/**
 * A single-page app at `/spa?v=one|two`. Links between the videos are handled in the page with
 * `history.pushState` (no reload); `popstate` (back/forward) renders the route again. Each route
 * mounts a fresh player subtree with a fresh <video>, as a framework re-rendering its route does.
 * `window.spa.playAd()` plays an ad YouTube's way: the same <video> element switches its source
 * to the ad, and when the ad ends back to the video at the position it left.
 * `document.body.dataset`: `route` (the video shown), `ad` (`playing` while an ad plays),
 * `boot` (a random id set once per document load, so a test can tell that nothing reloaded).
 */
export function spaPage(media: SpaMedia): string {
  const videos = JSON.stringify({ one: safe(media.one), two: safe(media.two) });
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Stemdeck e2e SPA</title>
<link rel="icon" href="data:,"></head>
<body>
<nav><a id="link-one" href="/spa?v=one">Video one</a> · <a id="link-two" href="/spa?v=two">Video two</a></nav>
<main id="app"></main>
<script>
const VIDEOS = ${videos};
const AD = ${JSON.stringify(safe(media.ad))};
document.body.dataset.boot = String(Math.random());
let video = null;

function route() {
  const v = new URLSearchParams(location.search).get('v');
  return Object.hasOwn(VIDEOS, v) ? v : 'one';
}

function mount() {
  const v = route();
  const player = document.createElement('div');
  player.className = 'player';
  const el = document.createElement('video');
  el.width = 640;
  el.height = 360;
  el.loop = true;
  el.autoplay = true;
  el.src = VIDEOS[v];
  player.append(el);
  document.getElementById('app').replaceChildren(player);
  video = el;
  document.body.dataset.route = v;
  delete document.body.dataset.ad;
}

function playAd() {
  const el = video;
  const resume = { src: el.getAttribute('src'), time: el.currentTime };
  el.loop = false;
  el.src = AD;
  document.body.dataset.ad = 'playing';
  el.addEventListener('ended', () => {
    if (video !== el) return; // navigated away during the ad
    el.loop = true;
    el.src = resume.src;
    el.currentTime = resume.time;
    el.play().catch(() => {});
    document.body.dataset.ad = 'done';
  }, { once: true });
  el.play().catch(() => {});
  return resume.time;
}

document.addEventListener('click', (e) => {
  const a = e.target.closest('a[href^="/spa"]');
  if (!a) return;
  e.preventDefault();
  history.pushState(null, '', a.getAttribute('href'));
  mount();
});
addEventListener('popstate', mount);
window.spa = { playAd, video: () => video };
mount();
</script>
</body></html>`;
}

/** One encoding of the MSE page's audio: where the file is and its MIME type with codecs. */
export interface MseSource {
  readonly src: string;
  readonly type: string;
}

/**
 * A Media Source Extensions player at `/mse`: the first of `sources` that
 * `MediaSource.isTypeSupported` accepts is fetched and appended to a SourceBuffer in 64-KiB
 * pieces (as a streaming player appends segments), then the looping <video> plays it. The
 * MediaSource lives in the page and reaches the <video> as a `blob:` URL; with `?worker=1` it lives
 * in a dedicated worker and reaches the <video> as `srcObject` (a MediaSourceHandle: MSE in
 * workers, Chrome 108+), so the element has no URL at all.
 * `document.body.dataset.mse`: `playing`, `unsupported` (no source type is supported, or no MSE
 * in workers) or `error: …`; `dataset.type` is the type it chose.
 */
export function msePage(sources: readonly MseSource[]): string {
  const list = JSON.stringify(sources.map((s) => ({ src: safe(s.src), type: s.type })));
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Stemdeck e2e MSE player</title>
<link rel="icon" href="data:,"></head>
<body>
<video id="player" width="640" height="360" loop></video>
<script>
const SOURCES = ${list};
const status = (s) => { document.body.dataset.mse = s; };

// Runs in the page, or in a dedicated worker (where post is postMessage).
async function feed(ms, source, post) {
  await new Promise((ok) => ms.addEventListener('sourceopen', ok, { once: true }));
  const sb = ms.addSourceBuffer(source.type);
  const data = new Uint8Array(await (await fetch(source.src)).arrayBuffer());
  for (let at = 0; at < data.length; at += 65536) {
    await new Promise((ok, fail) => {
      sb.addEventListener('updateend', ok, { once: true });
      sb.addEventListener('error', () => fail(new Error('SourceBuffer error')), { once: true });
      sb.appendBuffer(data.subarray(at, at + 65536));
    });
  }
  ms.endOfStream();
  post({ fed: true });
}

(async () => {
  const source = SOURCES.find((s) => MediaSource.isTypeSupported(s.type));
  if (!source) return status('unsupported');
  document.body.dataset.type = source.type;
  const video = document.getElementById('player');
  const absolute = { ...source, src: new URL(source.src, location.href).href };
  if (new URLSearchParams(location.search).get('worker') === '1') {
    if (!MediaSource.canConstructInDedicatedWorker) return status('unsupported');
    const code = feed.toString() +
      ';onmessage = (e) => { const ms = new MediaSource(); postMessage({ handle: ms.handle }, [ms.handle]);' +
      ' feed(ms, e.data, postMessage).catch((err) => postMessage({ error: String(err) })); };';
    const worker = new Worker(URL.createObjectURL(new Blob([code], { type: 'text/javascript' })));
    await new Promise((ok, fail) => {
      worker.onmessage = (e) => {
        if (e.data.handle) video.srcObject = e.data.handle;
        if (e.data.fed) ok();
        if (e.data.error) fail(new Error(e.data.error));
      };
      worker.postMessage(absolute);
    });
  } else {
    const ms = new MediaSource();
    video.src = URL.createObjectURL(ms);
    await feed(ms, absolute, () => {});
  }
  await video.play();
  status('playing');
})().catch((e) => status('error: ' + e));
</script>
</body></html>`;
}
