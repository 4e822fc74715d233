/**
 * The e2e suite's only network peer: a static server on 127.0.0.1 (random port) for the test page
 * and its WAV, which doubles as the browser's HTTP proxy. With `--proxy-server` pointing here,
 * every non-loopback request Chromium makes (pages, extension, browser internals) arrives as a
 * proxy request or CONNECT and is recorded and refused, so the suite can fail on any of them.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { makeToneWav } from './wav';

export interface RecordedRequest {
  readonly method: string;
  readonly url: string;
  /**
   * `local`: served by us; `sink`: the browser's component updater, redirected here by a flag
   * (browser.ts); `proxied`/`connect`: Chromium tried to reach another host.
   */
  readonly via: 'local' | 'sink' | 'proxied' | 'connect';
}

/** Loopback path the browser's component-update checks are pointed at (browser.ts). */
export const COMPONENT_UPDATER_SINK = '/component-updater-sink';
/** The paths the test page legitimately loads. */
export const PAGE_PATHS: readonly string[] = ['/', '/tone.wav'];

/** Extra media a test serves (e.g. `/song.ogg`), playable through `/player?src=<path>`. */
export interface MediaFile {
  readonly body: Buffer;
  readonly type: string;
}

export interface TestServer {
  readonly origin: string;
  readonly port: number;
  readonly requests: RecordedRequest[];
  /** Every path this server answers: the pages (built-in and extra), the tone and the extra media. */
  readonly paths: readonly string[];
  close(): Promise<void>;
}

/** A plain page with one looping <audio> element playing `src` (a path on this server). */
function playerPage(src: string): string {
  const safe = src.replace(/[^\w./-]/g, '');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Stemdeck e2e player</title>
<link rel="icon" href="data:,"></head>
<body><h1>Stemdeck e2e player</h1>
<audio id="player" src="${safe}" loop autoplay controls></audio>
</body></html>`;
}

const PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Stemdeck e2e page</title>
<link rel="icon" href="data:,"></head>
<body>
<h1>Stemdeck e2e page</h1>
<div id="slot"><audio id="player" src="/tone.wav" loop autoplay></audio></div>
</body></html>`;

function sendRange(req: IncomingMessage, res: ServerResponse, body: Buffer, type: string): void {
  // Media elements fetch with Range; answering 206 makes the WAV seekable.
  const m = /^bytes=(\d*)-(\d*)$/.exec(req.headers.range ?? '');
  if (!m || (m[1] === '' && m[2] === '')) {
    res.writeHead(200, { 'content-type': type, 'content-length': body.length, 'accept-ranges': 'bytes' });
    res.end(body);
    return;
  }
  const start = m[1] === '' ? Math.max(0, body.length - Number(m[2])) : Number(m[1]);
  const end = m[1] !== '' && m[2] !== '' ? Math.min(Number(m[2]), body.length - 1) : body.length - 1;
  if (start > end || start >= body.length) {
    res.writeHead(416, { 'content-range': `bytes */${body.length}` });
    res.end();
    return;
  }
  res.writeHead(206, {
    'content-type': type,
    'content-length': end - start + 1,
    'content-range': `bytes ${start}-${end}/${body.length}`,
    'accept-ranges': 'bytes',
  });
  res.end(body.subarray(start, end + 1));
}

/**
 * `media`: extra files served with Range support; `pages`: extra HTML pages by path (e.g. `/spa`),
 * served as they are whatever the query string.
 */
export async function startTestServer(
  media: Record<string, MediaFile> = {},
  pages: Record<string, string> = {},
): Promise<TestServer> {
  const wav = makeToneWav(20);
  const requests: RecordedRequest[] = [];
  const server = createServer((req, res) => {
    const url = req.url ?? '/';
    if (!url.startsWith('/')) {
      // Absolute URI: a proxy request for some other host.
      requests.push({ method: req.method ?? '?', url, via: 'proxied' });
      res.writeHead(403).end('blocked by the Stemdeck e2e suite');
      return;
    }
    const path = url.split('?')[0];
    const via = path === COMPONENT_UPDATER_SINK ? 'sink' : 'local';
    requests.push({ method: req.method ?? '?', url: `http://127.0.0.1${path}`, via });
    if (path === '/') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(PAGE);
    } else if (path === '/tone.wav') {
      sendRange(req, res, wav, 'audio/wav');
    } else if (path === '/player') {
      const src = new URL(url, 'http://127.0.0.1').searchParams.get('src') ?? '';
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(playerPage(src));
    } else if (Object.hasOwn(pages, path)) {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(pages[path]);
    } else if (Object.hasOwn(media, path)) {
      sendRange(req, res, media[path].body, media[path].type);
    } else {
      res.writeHead(404).end();
    }
  });
  server.on('connect', (req, socket) => {
    requests.push({ method: 'CONNECT', url: req.url ?? '?', via: 'connect' });
    socket.end('HTTP/1.1 403 Forbidden\r\n\r\n');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    port,
    requests,
    paths: [...PAGE_PATHS, '/player', ...Object.keys(media), ...Object.keys(pages)],
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
