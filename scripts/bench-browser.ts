/**
 * `npm run bench:browser`: the in-browser pipeline in headless Chromium, both modes side by side.
 *  - delayed: tab capture → AudioWorklet → onnxruntime-web separation on cross-faded segments →
 *    remix, on a page playing the bundled demo song (what Spotify and other sites get);
 *  - in-sync: the YouTube-like DASH page (the demo song as WebM/Opus segments appended ahead of the
 *    playhead), read ahead by the tap and played at the element's time, measured against the
 *    element's clock through a pause and two seeks (e2e/support/sync.ts, the e2e test's scenario).
 *  - switch-on: the keyboard shortcut's switch-on on that page, `--repeats` times cold (no
 *    offscreen document: onnxruntime, the session and the first stems all start from nothing) and
 *    each time again 5 s after switching off (the worker the switch-off kept): its spread, which a
 *    single run of the scenario cannot show on a busy two-core machine.
 * A benchmark, not a test: it prints Markdown rows for docs/BENCHMARKS.md and writes the figures as
 * JSON, `{ runs: [{ mode, model, rtf, addedDelayMs, syncOffsetP95Ms, switchOnMs, seekCachedMs,
 * seekNewMs, … }] }`, a figure that does not apply to a mode being null.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { dirname, resolve } from 'node:path';
import { Command } from 'commander';
import { CHROMIUM, HAVE_CHROMIUM, launchWithExtension } from '../e2e/support/browser';
import { dashRepresentation, makeDashAudio } from '../e2e/support/dash';
import { ExtensionDriver, sleep, UNITY } from '../e2e/support/drive';
import { dashPage } from '../e2e/support/pages';
import { startTestServer } from '../e2e/support/server';
import { describeSyncFigures, runSyncScenario, SYNC_MEDIA_SECONDS, timeSwitchOn } from '../e2e/support/sync';
import { SHIPPED_MODEL_PATH } from '../src/core/shipped-model';
import { positiveInt } from '../training/cli/args';

const ROOT = resolve(import.meta.dirname, '..');
const SONG = resolve(ROOT, 'demo/Kevin_MacLeod_-_Vibe_Ace.ogg');
const MODEL = process.env.STEMDECK_MODEL ?? SHIPPED_MODEL_PATH;

const opts = new Command('bench:browser')
  .option('--seconds <n>', 'seconds of the delayed remix to measure after it starts', '40')
  .option('--modes <list>', 'which modes to run: delayed, in-sync, switch-on', 'delayed,in-sync')
  .option('--repeats <n>', 'switch-on: how many cold switch-ons (each followed by one again)', positiveInt, 5)
  .option('--json <file>', 'where to write the figures', 'out/bench/browser.json')
  .parse()
  .opts<{ seconds: string; modes: string; repeats: number; json: string }>();

interface Run {
  mode: 'delayed' | 'in-sync';
  model: string;
  backend: string | null;
  threads: number | null;
  rtf: number | null;
  addedDelayMs: number | null;
  syncOffsetP95Ms: number | null;
  switchOnMs: number | null;
  seekCachedMs: number | null;
  seekNewMs: number | null;
  [extra: string]: unknown;
}

/**
 * Memory of the browser: the proportional set size (PSS, shared pages split among their users) of
 * Chromium's process `root` and all its descendants, in MB, from /proc (Linux). Null elsewhere.
 */
function browserPssMb(root: number | undefined): number | null {
  if (root === undefined) return null;
  try {
    const parent = new Map<number, number>();
    for (const name of readdirSync('/proc')) {
      if (!/^\d+$/.test(name)) continue;
      try {
        // Field 4 of /proc/PID/stat, after the parenthesised command (which may hold spaces).
        const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
        parent.set(Number(name), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
      } catch {
        // the process ended meanwhile
      }
    }
    const inTree = (pid: number): boolean => {
      for (let p = pid, hops = 0; p > 1 && hops < 64; p = parent.get(p) ?? 0, hops++)
        if (p === root) return true;
      return false;
    };
    let kb = 0;
    for (const pid of parent.keys()) {
      if (!inTree(pid)) continue;
      try {
        const m = /^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
        if (m) kb += Number(m[1]);
      } catch {
        // ended, or not readable
      }
    }
    return kb / 1024;
  } catch {
    return null;
  }
}

async function delayed(): Promise<Run> {
  const server = await startTestServer({ '/song.ogg': { body: await readFile(SONG), type: 'audio/ogg' } });
  const launched = await launchWithExtension(server.port);
  try {
    const drive = await ExtensionDriver.open(launched.browser, server.origin);
    const { tabId } = await drive.play('/song.ogg');
    const pid = launched.browser.process()?.pid;
    const pssBefore = browserPssMb(pid);
    const t0 = Date.now();
    const started = await drive.switchOn(tabId, UNITY);
    const startMs = Date.now() - t0; // capture + model load + worklet, until the worker answered
    if (started.engine?.phase !== 'buffering') throw new Error(`the remix did not start: ${started.notice}`);
    const running = await drive.running(tabId, 60_000);
    const firstRemixMs = Date.now() - t0;
    await sleep(Number(opts.seconds) * 1000);
    const pssDuring = browserPssMb(pid);
    const end = await drive.tabState(tabId);
    if (!end.enabled || !end.engine) throw new Error(`the remix stopped: ${end.notice}`);
    if (end.engine.mode !== 'delayed') throw new Error(`expected the delayed remix, got ${end.engine.mode}`);
    const { playback } = await drive.tap(true, true);
    const off = await drive.switchOff(tabId);
    return {
      mode: 'delayed',
      model: MODEL,
      backend: end.engine.backend,
      threads: end.engine.threads,
      rtf: end.engine.load,
      addedDelayMs: end.engine.delayMs ?? running.engine?.delayMs ?? null,
      syncOffsetP95Ms: null,
      switchOnMs: firstRemixMs,
      seekCachedMs: null,
      seekNewMs: null,
      engineUpMs: startMs,
      lateSeconds: end.engine.lateSeconds,
      measuredSeconds: Number(opts.seconds),
      switchOffMs: off.ended,
      // The whole browser's memory while the remix runs, and what switching on added to it.
      browserPssMb: pssDuring === null ? null : Math.round(pssDuring),
      remixPssMb: pssDuring === null || pssBefore === null ? null : Math.round(pssDuring - pssBefore),
      underrunEvents: playback?.underrunEvents ?? null,
      underrunMs: playback?.underrunMs ?? null,
      outputLatencyMs: playback?.averageLatencyMs ?? null,
    };
  } finally {
    await launched.close();
    await server.close();
  }
}

/** The DASH page of the in-sync mode, served, with a browser and the extension. */
async function dashSetup() {
  const [media, rep] = dashRepresentation(
    makeDashAudio(['-stream_loop', '1', '-i', SONG], 'opus', SYNC_MEDIA_SECONDS, 4),
    'opus',
    4,
    SYNC_MEDIA_SECONDS,
  );
  const server = await startTestServer(media, { '/dash': dashPage({ opus: rep }) });
  const launched = await launchWithExtension(server.port);
  const close = async () => {
    await launched.close();
    await server.close();
  };
  return { launched, origin: server.origin, close };
}

async function inSync(): Promise<Run> {
  const { launched, origin, close } = await dashSetup();
  try {
    const drive = await ExtensionDriver.open(launched.browser, origin);
    const { page, tabId } = await drive.openDash('/dash?rep=opus', true);
    const f = await runSyncScenario(drive, page, tabId);
    console.log(`in-sync: ${describeSyncFigures(f)}`);
    if (f.mode !== 'in-sync') throw new Error(`expected the in-sync remix, got ${f.mode}`);
    const end = (await drive.tabState(tabId)).engine;
    const off = await drive.switchOff(tabId);
    const finite = (v: number) => (Number.isFinite(v) ? Math.round(v) : null);
    return {
      mode: 'in-sync',
      model: MODEL,
      backend: end?.backend ?? null,
      threads: end?.threads ?? null,
      rtf: f.rtf,
      addedDelayMs: 0,
      syncOffsetP95Ms: f.syncOffsetP95Ms,
      switchOnMs: finite(f.switchOnMs),
      seekCachedMs: finite(f.seekCachedMs),
      seekNewMs: finite(f.seekNewMs),
      seekCachedAfterResumeMs: finite(f.seekCachedAfterResumeMs),
      syncOffsetP99Ms: f.syncOffsetP99Ms,
      syncOffsetWorstMs: f.syncOffsetWorstMs,
      seekSettleOffsetWorstMs: finite(f.seekSettleOffsetWorstMs),
      staleAfterSeekMs: f.staleAfterSeekMs,
      measuredSeconds: f.measuredSeconds,
      pageAudioSeconds: f.pageAudioSeconds,
      switchOffMs: off.ended,
      underrunEvents: f.underrunEvents,
      underrunMs: f.underrunMs,
      outputLatencyMs: f.outputLatencyMs,
    };
  } finally {
    await close();
  }
}

interface SwitchOnRuns {
  mode: 'switch-on';
  /** `gapMs`: the page's own audio in the seconds after the first stems (a late second segment). */
  cold: { ms: number; gapMs: number; milestones: string }[];
  again: { ms: number; gapMs: number; milestones: string }[];
}

/** `--repeats` cold keyboard switch-ons on a playing DASH page, each followed by one on the kept worker. */
async function switchOns(repeats: number): Promise<SwitchOnRuns> {
  const { launched, origin, close } = await dashSetup();
  const out: SwitchOnRuns = { mode: 'switch-on', cold: [], again: [] };
  try {
    const drive = await ExtensionDriver.open(launched.browser, origin);
    for (let i = 0; i < repeats; i++) {
      const { page, tabId } = await drive.openDash('/dash?rep=opus', true);
      await sleep(3000); // mid-playback, the page's buffer ahead filled
      await drive.closeOffscreen();
      const cold = await timeSwitchOn(drive, page, tabId);
      if (cold.milestones.includes('worker warm')) throw new Error('a cold switch-on found a worker');
      await drive.switchOff(tabId);
      await sleep(5000);
      const again = await timeSwitchOn(drive, page, tabId);
      await drive.switchOff(tabId);
      await page.close();
      for (const [what, r] of [
        ['cold', cold],
        ['again', again],
      ] as const)
        console.log(
          `switch-on ${i + 1}: ${what} ${r.ms.toFixed(0)} ms, then ${r.gapMs.toFixed(0)} ms without stems (${r.milestones})`,
        );
      out.cold.push(cold);
      out.again.push(again);
    }
  } finally {
    await close();
  }
  return out;
}

async function main(): Promise<void> {
  if (!HAVE_CHROMIUM) throw new Error(`${CHROMIUM} is missing (sudo apt-get install chromium)`);
  const modes = opts.modes.split(',').map((m) => m.trim());
  for (const m of modes)
    if (m !== 'delayed' && m !== 'in-sync' && m !== 'switch-on')
      throw new Error(`--modes: unknown mode "${m}"`);
  const runs: Run[] = [];
  if (modes.includes('delayed')) runs.push(await delayed());
  if (modes.includes('in-sync')) runs.push(await inSync());
  const switchOn = modes.includes('switch-on') ? await switchOns(opts.repeats) : null;
  const figures = {
    date: new Date().toISOString(),
    machine: `${cpus().length} × ${cpus()[0]?.model ?? '?'}`,
    runs,
    ...(switchOn ? { switchOn } : {}),
  };
  const out = resolve(ROOT, opts.json);
  await mkdir(dirname(out), { recursive: true });
  await writeFile(out, `${JSON.stringify(figures, null, 2)}\n`);
  console.log(JSON.stringify(figures, null, 2));
  const ms = (v: unknown) => (typeof v === 'number' ? `${Math.round(v)} ms` : '—');
  if (switchOn) {
    const spread = (xs: number[]) => {
      const s = [...xs].sort((a, b) => a - b);
      return `median ${(s[Math.floor((s.length - 1) / 2)] / 1000).toFixed(2)} s (${(s[0] / 1000).toFixed(2)}–${(s[s.length - 1] / 1000).toFixed(2)}, ${s.length} runs)`;
    };
    console.log(
      `\n| switch on → stems (keyboard) | ${spread(switchOn.cold.map((r) => r.ms))} |\n` +
        `| switch on again, worker kept | ${spread(switchOn.again.map((r) => r.ms))} |\n` +
        `| the page's audio after the first stems, most of any run | ${Math.max(...[...switchOn.cold, ...switchOn.again].map((r) => r.gapMs)).toFixed(0)} ms |`,
    );
  }
  if (runs.length === 0) return;
  console.log(
    '\n| mode | RTF | added delay | offset to the picture (p95) | switch on → remix | seek into cache | seek into new audio |\n' +
      '| --- | ---: | ---: | ---: | ---: | ---: | ---: |\n' +
      runs
        .map(
          (r) =>
            `| ${r.mode} (${r.backend} · ${r.threads} threads) | ${r.rtf?.toFixed(3) ?? '—'} | ${ms(r.addedDelayMs)} | ${
              r.syncOffsetP95Ms === null ? '—' : `${r.syncOffsetP95Ms.toFixed(1)} ms`
            } | ${ms(r.switchOnMs)} | ${ms(r.seekCachedMs)} | ${ms(r.seekNewMs)} |`,
        )
        .join('\n'),
  );
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(`bench:browser: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);
