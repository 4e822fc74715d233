/**
 * `npm run bench:browser`: the full in-browser pipeline (tab capture → AudioWorklet → onnxruntime-web
 * separation on cross-faded segments → remix) in headless Chromium on the bundled demo song.
 * Reports the real-time factor (separation time per second of audio, as the engine measures it),
 * late audio, the added delay, and how long switching on and off takes. A benchmark, not a test:
 * it prints a Markdown row for docs/BENCHMARKS.md and writes the figures as JSON.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { dirname, resolve } from 'node:path';
import { Command } from 'commander';
import { CHROMIUM, HAVE_CHROMIUM, launchWithExtension } from '../e2e/support/browser';
import { ExtensionDriver, sleep, UNITY } from '../e2e/support/drive';
import { startTestServer } from '../e2e/support/server';

const ROOT = resolve(import.meta.dirname, '..');
const SONG = resolve(ROOT, 'demo/Kevin_MacLeod_-_Vibe_Ace.ogg');

const opts = new Command('bench:browser')
  .option('--seconds <n>', 'seconds of remix to measure after it starts', '40')
  .option('--json <file>', 'where to write the figures', 'out/bench/browser.json')
  .parse()
  .opts<{ seconds: string; json: string }>();

async function main(): Promise<void> {
  if (!HAVE_CHROMIUM) throw new Error(`${CHROMIUM} is missing (sudo apt-get install chromium)`);
  const server = await startTestServer({ '/song.ogg': { body: await readFile(SONG), type: 'audio/ogg' } });
  const launched = await launchWithExtension(server.port);
  try {
    const version = await launched.browser.version();
    const drive = await ExtensionDriver.open(launched.browser, server.origin);
    const { tabId } = await drive.play('/song.ogg');
    const t0 = Date.now();
    const started = await drive.switchOn(tabId, UNITY);
    const startMs = Date.now() - t0; // capture + model load + worklet, until the worker answered
    if (started.engine?.phase !== 'buffering') throw new Error(`the remix did not start: ${started.notice}`);
    const running = await drive.running(tabId, 60_000);
    const firstRemixMs = Date.now() - t0;
    await sleep(Number(opts.seconds) * 1000);
    const end = await drive.tabState(tabId);
    if (!end.enabled || !end.engine) throw new Error(`the remix stopped: ${end.notice}`);
    const off = await drive.switchOff(tabId);
    const figures = {
      date: new Date().toISOString(),
      machine: `${cpus().length} × ${cpus()[0]?.model ?? '?'}`,
      browser: version,
      backend: end.engine.backend,
      threads: end.engine.threads,
      stems: end.engine.stems,
      measuredSeconds: Number(opts.seconds),
      rtf: end.engine.load,
      lateSeconds: end.engine.lateSeconds,
      delayMs: end.engine.delayMs ?? running.engine?.delayMs ?? null,
      startMs,
      firstRemixMs,
      switchOffMs: off.ended,
    };
    const out = resolve(ROOT, opts.json);
    await mkdir(dirname(out), { recursive: true });
    await writeFile(out, `${JSON.stringify(figures, null, 2)}\n`);
    console.log(JSON.stringify(figures, null, 2));
    console.log(
      '\n| engine | RTF (separation s per audio s) | late audio | added delay | switch on → first remix | switch off → page audio |\n' +
        '| --- | ---: | ---: | ---: | ---: | ---: |\n' +
        `| ${figures.backend} · ${figures.threads} threads | ${figures.rtf?.toFixed(3)} | ${figures.lateSeconds.toFixed(2)} s in ${figures.measuredSeconds} s | ${figures.delayMs} ms | ${figures.firstRemixMs} ms (engine up after ${figures.startMs} ms) | ${figures.switchOffMs} ms |`,
    );
  } finally {
    await launched.close();
    await server.close();
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(`bench:browser: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);
