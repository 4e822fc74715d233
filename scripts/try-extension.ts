/**
 * `npm run try`: the extension on the bundled demo page, playing a CC-BY song (demo/).
 *
 * With a display: opens Chromium with the test build loaded on the demo page; click the Stemdeck
 * icon, switch the remix on, pull a slider. Close the browser to finish.
 * Headless (no DISPLAY, or --headless): plays the song, switches the remix on from the popup with
 * the karaoke preset, records what the extension plays for --seconds, and writes
 * out/try/{remix,original}.wav and out/try/popup.png.
 *
 * It uses the test build (out/extension-test) because only that build's content script runs on the
 * local demo server; the audio path is the release build's.
 */
import { mkdir, readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { Command } from 'commander';
import { CHROMIUM, EXTENSION_ID, HAVE_CHROMIUM, launchWithExtension } from '../e2e/support/browser';
import { ExtensionDriver, sleep } from '../e2e/support/drive';
import { startTestServer } from '../e2e/support/server';
import { SAMPLE_RATE } from '../src/core/audio';
import { writeWav } from '../training/node/audio-io';

const ROOT = resolve(import.meta.dirname, '..');
const SONG = resolve(ROOT, 'demo/Kevin_MacLeod_-_Vibe_Ace.ogg');

const opts = new Command('try')
  .description('Runs the extension on the bundled demo song (a window with a display, else headless).')
  .option('--headless', 'no window even where a display exists', false)
  .option('--seconds <n>', 'headless: seconds of remix to record', '15')
  .option('--out <dir>', 'headless: output folder', 'out/try')
  .parse()
  .opts<{ headless: boolean; seconds: string; out: string }>();

async function main(): Promise<number> {
  if (!HAVE_CHROMIUM) {
    console.error(`try: ${CHROMIUM} is missing (sudo apt-get install chromium)`);
    return 1;
  }
  const headless = opts.headless || !process.env.DISPLAY;
  const server = await startTestServer({ '/song.ogg': { body: await readFile(SONG), type: 'audio/ogg' } });
  const launched = await launchWithExtension(server.port, { headless });
  try {
    const drive = await ExtensionDriver.open(launched.browser, server.origin);
    const { page, tabId } = await drive.play('/song.ogg');
    if (!headless) {
      await drive.control.close();
      await page.bringToFront();
      console.log(
        'try: Chromium shows the demo song (Kevin MacLeod, "Vibe Ace", CC BY 4.0). Click the Stemdeck icon ' +
          '(puzzle piece → pin it), switch the remix on, pull a slider. Close the browser to finish.',
      );
      await new Promise((done) => launched.browser.once('disconnected', done));
      return 0;
    }
    // The popup itself (opened as a page for this tab): karaoke preset, then its switch.
    const popup = await launched.browser.newPage();
    await popup.setViewport({ width: 360, height: 460, deviceScaleFactor: 2 });
    await popup.goto(`chrome-extension://${EXTENSION_ID}/src/popup/index.html?tab=${tabId}`);
    await popup.waitForSelector('[data-preset=karaoke]:not([disabled])');
    await popup.click('[data-preset=karaoke]');
    await popup.click('[role=switch]');
    const state = await drive.running(tabId, 60_000);
    const seconds = Number(opts.seconds);
    console.log(
      `try: remix running (${state.engine?.backend}, delay ${state.engine?.delayMs} ms); recording ${seconds} s…`,
    );
    await drive.tap(true);
    await sleep(seconds * 1000);
    const tap = await drive.tap(false);
    const out = resolve(ROOT, opts.out);
    await mkdir(out, { recursive: true });
    const planar = (x: readonly number[][]) => x.map((c) => Float32Array.from(c));
    await writeWav(resolve(out, 'remix.wav'), { sampleRate: SAMPLE_RATE, channels: planar(tap.output) });
    await writeWav(resolve(out, 'original.wav'), { sampleRate: SAMPLE_RATE, channels: planar(tap.original) });
    await popup.waitForFunction(() =>
      /^Remixing/.test(document.querySelector('[data-testid=engine-status]')?.textContent ?? ''),
    );
    await (await popup.$('main'))?.screenshot({ path: resolve(out, 'popup.png') });
    const status = await popup.$eval('[data-testid=engine-status]', (el) => el.textContent ?? '');
    await drive.switchOff(tabId);
    console.log(`try: popup says "${status}"`);
    console.log(
      `try: wrote ${out}/remix.wav (karaoke), ${out}/original.wav (the same span as captured), ${out}/popup.png`,
    );
    return 0;
  } finally {
    await launched.close();
    await server.close();
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`try: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);
