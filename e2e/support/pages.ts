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

/** One audio representation of the DASH page: its SourceBuffer type, init and media segment paths. */
export interface DashRepresentation {
  readonly mime: string;
  readonly init: string;
  readonly segments: readonly string[];
  /** Seconds per media segment (the last may be shorter). */
  readonly segmentSeconds: number;
  /** The media's duration, seconds, as a manifest states it. */
  readonly duration: number;
  /** Encrypted (CENC): the ClearKey key id and key, hex; the page plays it through EME. */
  readonly clearKey?: { readonly kid: string; readonly key: string };
}

/**
 * Another site's page with the DASH player embedded from the stand-in YouTube host (as a blog embeds
 * www.youtube-nocookie.com): the media and its MSE feed live in a cross-site iframe, `/dash` with
 * this page's query.
 */
export function embedPage(youtubeHost: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Stemdeck e2e embed</title>
<link rel="icon" href="data:,"></head>
<body>
<p>A page with an embedded player.</p>
<script>
const f = document.createElement('iframe');
f.width = 660;
f.height = 380;
f.allow = 'autoplay; encrypted-media';
f.src = location.protocol + '//${youtubeHost}:' + location.port + '/dash' + location.search;
document.body.append(f);
</script>
</body></html>`;
}

/**
 * A streaming player at `/dash?rep=<name>` that feeds its <video> the way YouTube's does: one
 * MediaSource (a `blob:` URL), an audio SourceBuffer, the init segment, then media segments fetched
 * and appended ahead of the playhead (`ahead` seconds, default 30; `live=1`: only about 2 s ahead,
 * just in time), each segment in two or three partial appends. Old audio more than 60 s behind is
 * `remove`d. `window.player`:
 *  - `seek(t)`: abort, remove everything, then append from the segment holding `t` (a player's seek);
 *  - `switchTo(name)`: another representation from the segment before the next one (overlapping,
 *    so that differing segment boundaries leave no gap): its init is re-sent (a quality switch),
 *    with `changeType` first when the MIME type differs (a codec switch);
 *  - `playAd(name, seconds)`: an inserted ad YouTube's way — the same element gets a new
 *    MediaSource with representation `name` from 0 for `seconds`, then a new MediaSource for the
 *    video again, appended anew from where it left off (`dataset.ad`: `playing`, then `done`);
 *  - `video`: the element.
 * A representation with `clearKey` is played through EME (ClearKey), as a DRM-protected one would be.
 * `document.body.dataset.dash`: `playing`, `unsupported` or `error: …`; `dataset.buffered`: the
 * SourceBuffer's end, seconds.
 */
export function dashPage(representations: Record<string, DashRepresentation>): string {
  const reps = JSON.stringify(
    Object.fromEntries(
      Object.entries(representations).map(([k, r]) => [
        safe(k),
        {
          mime: r.mime,
          init: safe(r.init),
          segments: r.segments.map(safe),
          segmentSeconds: r.segmentSeconds,
          duration: r.duration,
          clearKey: r.clearKey ?? null,
        },
      ]),
    ),
  );
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Stemdeck e2e DASH player</title>
<link rel="icon" href="data:,"></head>
<body>
<video id="player" width="640" height="360"></video>
<script>
const REPS = ${reps};
const q = new URLSearchParams(location.search);
const AHEAD = q.get('live') === '1' ? 2 : Number(q.get('ahead') || 30);
const status = (s) => { document.body.dataset.dash = s; };
const video = document.getElementById('player');
let rep = REPS[q.get('rep')] ?? Object.values(REPS)[0];
let pendingSwitch = null;
let next = 0;            // index of the next media segment to append
let generation = 0;      // bumped by a seek: an older fetch loop stops
let sb = null;
const fetched = new Map();

async function bytes(path) {
  if (!fetched.has(path)) fetched.set(path, fetch(path).then((r) => r.arrayBuffer()).then((b) => new Uint8Array(b)));
  return fetched.get(path);
}
function updated() {
  return new Promise((ok, fail) => {
    if (!sb.updating) return ok();
    sb.addEventListener('updateend', ok, { once: true });
    sb.addEventListener('error', () => fail(new Error('SourceBuffer error')), { once: true });
  });
}
async function append(data) {
  await updated();
  sb.appendBuffer(data);
  await updated();
}
/** A segment in two or three pieces, as a streaming player appends what has arrived so far. */
async function appendInPieces(data) {
  const cuts = [0, Math.floor(data.length / 3), Math.floor(data.length * 0.7), data.length];
  for (let i = 0; i + 1 < cuts.length; i++) await append(data.subarray(cuts[i], cuts[i + 1]));
}
function bufferedEnd() {
  const b = sb.buffered;
  for (let i = 0; i < b.length; i++) if (b.start(i) <= video.currentTime + 0.5 && video.currentTime <= b.end(i) + 0.5) return b.end(i);
  return video.currentTime;
}
async function loop(gen) {
  while (gen === generation) {
    if (next < rep.segments.length && bufferedEnd() < video.currentTime + AHEAD) {
      if (pendingSwitch) {
        const to = REPS[pendingSwitch];
        pendingSwitch = null;
        if (to.mime !== rep.mime) { await updated(); sb.changeType(to.mime); }
        rep = to;
        // Segment boundaries differ between codecs (20-ms Opus vs 1024-frame AAC packets): start
        // one segment back, overlapping what is buffered, so that no gap opens.
        next = Math.max(0, next - 1);
        await append(await bytes(rep.init));
      }
      const data = await bytes(rep.segments[next]);
      if (gen !== generation) return;
      await appendInPieces(data);
      next++;
      document.body.dataset.buffered = String(bufferedEnd());
      if (video.currentTime > 70) { await updated(); sb.remove(0, video.currentTime - 60); await updated(); }
      continue;
    }
    if (next >= rep.segments.length && ms.readyState === 'open' && !sb.updating) ms.endOfStream();
    await new Promise((r) => setTimeout(r, 100));
  }
}
async function seek(t) {
  generation++;
  const gen = generation;
  video.currentTime = t;
  await updated();
  sb.abort();
  if (ms.readyState === 'ended') { /* appending reopens it */ }
  sb.remove(0, Infinity);
  await updated();
  next = Math.max(0, Math.floor(t / rep.segmentSeconds));
  await append(await bytes(rep.init));
  loop(gen);
}
const b64url = (hex) => btoa(String.fromCharCode(...hex.match(/../g).map((h) => parseInt(h, 16)))).split('+').join('-').split('/').join('_').replace(/=+$/, '');
/** EME with ClearKey for an encrypted representation: the licence is the key itself. */
async function clearKey(r) {
  const access = await navigator.requestMediaKeySystemAccess('org.w3.clearkey', [
    { initDataTypes: ['keyids', 'cenc'], audioCapabilities: [{ contentType: r.mime }] },
  ]);
  const keys = await access.createMediaKeys();
  await video.setMediaKeys(keys);
  const session = keys.createSession();
  session.addEventListener('message', () => {
    const licence = { keys: [{ kty: 'oct', kid: b64url(r.clearKey.kid), k: b64url(r.clearKey.key) }] };
    session.update(new TextEncoder().encode(JSON.stringify(licence)));
  });
  await session.generateRequest('keyids', new TextEncoder().encode(JSON.stringify({ kids: [b64url(r.clearKey.kid)] })));
}
/** A new MediaSource on the element, open. */
async function openSource() {
  const m = new MediaSource();
  video.src = URL.createObjectURL(m);
  await new Promise((ok) => m.addEventListener('sourceopen', ok, { once: true }));
  return m;
}
let ms = null;
/** The video from media time at: a new MediaSource, appended ahead of the playhead from there. */
async function start(at) {
  generation++;
  const gen = generation;
  ms = await openSource();
  if (!MediaSource.isTypeSupported(rep.mime)) return status('unsupported');
  // As a streaming player does from its manifest: without a duration a seek cannot land.
  ms.duration = rep.duration;
  sb = ms.addSourceBuffer(rep.mime);
  await append(await bytes(rep.init));
  next = Math.max(0, Math.floor(at / rep.segmentSeconds));
  loop(gen);
  await new Promise((ok) => { const w = () => (sb.buffered.length && sb.buffered.end(sb.buffered.length - 1) > at + 2 ? ok() : setTimeout(w, 50)); w(); });
  if (at > 0) video.currentTime = at;
  await video.play();
  status('playing');
}
async function playAd(name, seconds) {
  const resumeAt = video.currentTime;
  generation++; // the video's append loop stops
  const r = REPS[name];
  const m = await openSource();
  m.duration = r.duration;
  const adBuffer = m.addSourceBuffer(r.mime);
  const put = (data) => new Promise((ok) => { adBuffer.addEventListener('updateend', ok, { once: true }); adBuffer.appendBuffer(data); });
  await put(await bytes(r.init));
  for (let i = 0; i * r.segmentSeconds < seconds + r.segmentSeconds && i < r.segments.length; i++) await put(await bytes(r.segments[i]));
  document.body.dataset.ad = 'playing';
  await video.play();
  await new Promise((ok) => { const w = () => (video.currentTime >= seconds || video.ended ? ok() : setTimeout(w, 50)); w(); });
  await start(resumeAt);
  document.body.dataset.ad = 'done';
}
(async () => {
  try {
    if (rep.clearKey) await clearKey(rep);
    await start(0);
  } catch (e) { status('error: ' + e); }
})();
window.player = { video, seek, playAd, switchTo: (name) => { pendingSwitch = name; } };
</script>
</body></html>`;
}
