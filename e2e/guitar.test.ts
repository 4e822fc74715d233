/**
 * The user story: "take the guitar out so I can play it". A real guitar recording the 6-stem model
 * never trained on (a DI phrase held out of `npm run synth`'s training part, through the generator's
 * amp and cabinet) is mixed over a MUSDB18-7 *test* track; the page plays it, the guitar slider goes to
 * 0, and the recorded output must (1) equal offline separation with the same model within 0.5 dB and
 * (2) be closer to the song without the guitar than the page's own audio is (by how much is the
 * model's quality: models/README.md).
 * It drives the test build of the shipped model (the 6-stem model) and checks its popup too (guitar and
 * piano rows, the "No guitar" preset); it skips, saying so, for a build of a model without guitar.
 * Runs when ../shared/data is present; says why otherwise.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Browser } from 'puppeteer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SAMPLE_RATE } from '../src/core/audio';
import { separateSignal } from '../src/core/separator';
import { SHIPPED_MODEL_PATH } from '../src/core/shipped-model';
import { STEMS } from '../src/core/stems';
import { evaluateTrack } from '../training/eval/bsseval/museval';
import { trackMedians } from '../training/eval/report';
import { listMusdbTracks, loadTrack } from '../training/eval/tracks';
import { decodeAudio } from '../training/node/audio-io';
import { loadOnnxModel } from '../training/separate/onnx-model';
import { ampChain, panMono } from '../training/synth/dsp';
import { CHROMIUM, HAVE_CHROMIUM, type Launched, launchWithExtension } from './support/browser';
import { ExtensionDriver, MODEL_STEMS } from './support/drive';
import { startTestServer, type TestServer } from './support/server';
import { errorDb, gather, repeat, rms, sumSignals } from './support/signal';
import { float32Wav } from './support/wav';

const ROOT = resolve(import.meta.dirname, '..');
const DATA = resolve(ROOT, '../shared/data');
const MUSDB = resolve(DATA, 'musdb18-7');
const MUSDB_TRACK = 'Al James - Schoolboy Facination';
/** Fifth of nam-di in file order: held out of training (training/synth/real.ts, recordingPart). */
const GUITAR_DI = resolve(DATA, 'instruments/guitar/nam-di/Jazz Trot - Guitar.flac');
const HAVE_DATA = existsSync(resolve(MUSDB, 'test', `${MUSDB_TRACK}.stem.mp4`)) && existsSync(GUITAR_DI);
const GUITAR_MODEL = SHIPPED_MODEL_PATH;
const HAVE_GUITAR = MODEL_STEMS.includes('guitar');

if (!HAVE_CHROMIUM) console.warn(`e2e guitar: ${CHROMIUM} is missing: SKIPPED, not passed.`);
if (!HAVE_DATA) console.warn(`e2e guitar: ${MUSDB} or ${GUITAR_DI} is missing: SKIPPED, not passed.`);
if (!HAVE_GUITAR) {
  console.warn(`e2e guitar: ${GUITAR_MODEL} has no guitar stem (${MODEL_STEMS.join(', ')}): SKIPPED.`);
}

describe.skipIf(!HAVE_CHROMIUM || !HAVE_DATA || !HAVE_GUITAR)('the guitar slider', () => {
  let server: TestServer;
  let launched: Launched;
  let browser: Browser;
  let drive: ExtensionDriver;
  let song: Float32Array[];
  let withoutGuitar: Float32Array[];
  let guitar: Float32Array[];

  beforeAll(async () => {
    const [source] = (await listMusdbTracks(MUSDB, 'test')).filter((t) => t.name === MUSDB_TRACK);
    const track = await loadTrack(source);
    withoutGuitar = track.mixture.channels;
    const length = withoutGuitar[0].length;
    // The DI phrase from its first second, looped to the track's length, through a crunch amp,
    // panned a little left, 3 dB under the song.
    const di = (await decodeAudio(GUITAR_DI)).channels[0];
    const mono = Float32Array.from({ length }, (_, i) => di[(SAMPLE_RATE + i) % di.length]);
    ampChain(mono, {
      driveDb: 28,
      bias: 0.1,
      bass: 2,
      mid: 1,
      treble: 2,
      cabLowpass: 5000,
      cabResonance: 110,
    });
    guitar = panMono(mono, -0.3);
    const g = (rms(withoutGuitar) / rms(guitar)) * 10 ** (-3 / 20);
    for (const ch of guitar) for (let i = 0; i < ch.length; i++) ch[i] *= g;
    const once = withoutGuitar.map((ch, c) => ch.map((v, i) => v + guitar[c][i]));
    // The page plays three copies back to back; the references are two, so that a 7-s recording lies
    // inside them wherever it starts (with one, a recording across a copy's end matched only a part).
    server = await startTestServer({
      '/guitar-song.wav': { body: float32Wav(repeat(once, 3)), type: 'audio/wav' },
    });
    song = repeat(once, 2);
    guitar = repeat(guitar, 2);
    withoutGuitar = repeat(withoutGuitar, 2);
    launched = await launchWithExtension(server.port);
    browser = launched.browser;
    drive = await ExtensionDriver.open(browser, server.origin, launched.extensionId);
  }, 120_000);

  afterAll(async () => {
    await launched?.close();
    await server?.close();
  });

  it('takes a held-out real guitar out of a real song as well as offline separation does', async () => {
    // The popup: one row per stem of the 6-stem model, and the "No guitar" preset.
    const checkPopup = async (tabId: number) => {
      const popup = await browser.newPage();
      await popup.goto(`chrome-extension://${launched.extensionId}/src/popup/index.html?tab=${tabId}`);
      await popup.waitForSelector('[data-stem] input:not([disabled])');
      const rows = await popup.$$eval('[data-stem]', (els) => els.map((el) => el.getAttribute('data-stem')));
      expect(rows).toEqual(STEMS.filter((s) => MODEL_STEMS.includes(s.name)).map((s) => s.name));
      expect(rows).toContain('guitar');
      expect(rows).toContain('piano');
      expect(await popup.$('[data-preset=no-guitar]')).not.toBeNull();
      await popup.close();
    };

    // Every part of the recording that matches the song (a loaded machine drops captured audio).
    const { t, al } = await drive.recordAligned('/guitar-song.wav', { guitar: 0 }, 7000, song[0], checkPopup);
    // The track, even if Chromium resampled the capture (signal.ts): a fractional-sample offset costs
    // this bright, distorted guitar more correlation than the karaoke songs (0.986 seen in one CI
    // run); a different audio would be near 0.
    expect(al.correlation).toBeGreaterThan(0.97);
    const seconds = al.length / SAMPLE_RATE;
    expect(seconds).toBeGreaterThan(3);
    const { pieces } = al;
    const refs = { guitar: gather(guitar, pieces, 'offset'), rest: gather(withoutGuitar, pieces, 'offset') };
    const original = gather(t.original, pieces, 'start');
    // BSS Eval (museval) for browser vs offline; a plain signal-to-error ratio for the gain over
    // the page's own audio, whose "guitar" estimate would be silence (BSS Eval refuses that).
    const museval = (rest: Float32Array[], name: string) =>
      trackMedians(
        evaluateTrack(
          name,
          refs,
          { rest, guitar: rest.map((ch, c) => ch.map((v, i) => original[c][i] - v)) },
          SAMPLE_RATE,
        ),
      ).rest.SDR;
    const snr = (est: Float32Array[]) => -errorDb(est, refs.rest);

    const output = gather(t.output, pieces, 'start');
    const browserSdr = museval(output, 'browser');
    // Offline: `npm run separate`'s path (the two copies whole, same model), every stem but guitar.
    const model = await loadOnnxModel(resolve(ROOT, GUITAR_MODEL));
    const stems = await separateSignal(model, song, { wienerIterations: 1, exactSum: true });
    const rest = MODEL_STEMS.filter((n) => n !== 'guitar').map((n) => gather(stems[n]!, pieces, 'offset'));
    const offlineRest = sumSignals(rest);
    const offlineSdr = museval(offlineRest, 'offline');
    const [pageSnr, remixSnr] = [snr(original), snr(output)];
    console.info(
      `e2e guitar: "the song without guitar" over ${seconds.toFixed(1)} s in ${pieces.length} piece(s): SDR browser ` +
        `${browserSdr.toFixed(2)} dB, offline ${offlineSdr.toFixed(2)} dB; signal-to-error page audio ` +
        `${pageSnr.toFixed(2)} dB → remix ${remixSnr.toFixed(2)} dB`,
    );
    expect(Math.abs(browserSdr - offlineSdr)).toBeLessThan(0.5);
    // The slider takes out guitar, not something else: the remix is closer to the song without the
    // guitar than the page's audio is. How much closer is the model's quality, reported by this
    // line and measured on whole test sets in models/README.md — not a pass mark here.
    expect(remixSnr).toBeGreaterThan(pageSnr);
  }, 120_000);
});
