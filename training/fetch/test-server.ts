/**
 * A local HTTP server for the download tests: each path gets a handler, and every request is
 * recorded, so a test can count requests and read the Range headers it was sent.
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type Handler = (req: IncomingMessage, res: ServerResponse, nth: number) => void;

export interface TestServer {
  /** `http://127.0.0.1:<port>/`. */
  readonly url: string;
  readonly requests: { path: string; range: string | undefined }[];
  close(): Promise<void>;
}

export async function startServer(routes: Record<string, Handler>): Promise<TestServer> {
  const requests: { path: string; range: string | undefined }[] = [];
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    const nth = requests.filter((r) => r.path === path).length;
    requests.push({ path, range: req.headers.range });
    const handler = routes[path];
    if (handler) handler(req, res, nth);
    else res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found');
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    requests,
    close: () =>
      new Promise((ok) => {
        // Handlers that never answer keep their sockets open; close would wait on them forever.
        server.closeAllConnections();
        server.close(() => ok());
      }),
  };
}

/** Serves `bytes` like a static file server: honours `Range: bytes=N-` with 206 unless told not to. */
export function serveFile(bytes: Uint8Array, options: { honourRange?: boolean } = {}): Handler {
  return (req, res) => {
    const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    if (m && options.honourRange !== false) {
      const start = Number(m[1]);
      if (start >= bytes.length) {
        res.writeHead(416, { 'Content-Range': `bytes */${bytes.length}` }).end();
        return;
      }
      res.writeHead(206, {
        'Content-Type': 'application/octet-stream',
        'Content-Length': bytes.length - start,
        'Content-Range': `bytes ${start}-${bytes.length - 1}/${bytes.length}`,
      });
      res.end(bytes.subarray(start));
      return;
    }
    res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': bytes.length });
    res.end(bytes);
  };
}

/** Announces the whole of `bytes` but sends only the first `cut`, then drops the connection. */
export function cutAfter(bytes: Uint8Array, cut: number): Handler {
  return (_req, res) => {
    res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': bytes.length });
    res.write(bytes.subarray(0, cut), () => res.socket?.destroy());
  };
}

export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}
