import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { STEM_NAMES } from '../../src/core/stems';
import { testSignal, writeHqTrack, writeStemsTrack, writeStereo } from '../data/testing';
import { runEvalJob } from './job';
import { listMusdbTracks, loadEstimates, loadTrack, parseStemGroup } from './tracks';

const dir = mkdtempSync(join(tmpdir(), 'stemdeck-eval-tracks-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('evaluation tracks and grouped estimates', () => {
  it('reads six stems from a synth song folder and four from an HQ folder', async () => {
    const song = await writeStemsTrack(join(dir, 'sets/synth'), 'song', STEM_NAMES, 1);
    await writeStereo(join(song, 'mixture.wav'), testSignal(99, 44_100));
    await writeHqTrack(join(dir, 'sets/hq'), 'track', 2);
    const [synth] = await listMusdbTracks(join(dir, 'sets'), 'synth');
    expect(Object.keys((await loadTrack(synth)).stems).sort()).toEqual([...STEM_NAMES].sort());
    const [hq] = await listMusdbTracks(join(dir, 'sets'), 'hq');
    expect(Object.keys((await loadTrack(hq)).stems).sort()).toEqual(['bass', 'drums', 'other', 'vocals']);
  });

  it('sums grouped estimate files sample by sample, and names a missing member', async () => {
    const est = await writeStemsTrack(dir, 'est', ['guitar', 'piano', 'other', 'vocals'], 3);
    const groups = parseStemGroup('other=guitar,piano,other');
    const got = await loadEstimates(est, ['vocals', 'other'], groups);
    const [g, p, o] = [0, 1, 2].map((k) => testSignal(30 + k, 44_100));
    for (const i of [0, 1000, 44_099]) expect(got.other[1][i]).toBeCloseTo(g[1][i] + p[1][i] + o[1][i], 6);
    expect(got.vocals[0][5]).toBeCloseTo(testSignal(33, 44_100)[0][5], 6);
    await expect(loadEstimates(est, ['other'], parseStemGroup('other=guitar,keys'))).rejects.toThrow(
      /keys\.wav.*missing estimate/,
    );
    expect(() => parseStemGroup('other:guitar')).toThrow(/NAME=STEM/);
  });

  it('scores a 6-stem estimate folder against 4-stem references through a group', async () => {
    // references: an HQ track; estimates: the true stems with "other" split into three files
    await writeHqTrack(join(dir, 'sets/four'), 'track', 4);
    const [track] = await listMusdbTracks(join(dir, 'sets'), 'four');
    const truth = await loadTrack(track);
    const root = join(dir, 'six');
    for (const s of ['vocals', 'drums', 'bass'])
      await writeStereo(join(root, 'track', `${s}.wav`), truth.stems[s].channels);
    const third = truth.stems.other.channels.map((c) => c.map((v) => v / 3));
    for (const s of ['guitar', 'piano', 'other']) await writeStereo(join(root, 'track', `${s}.wav`), third);
    const job = { track, estimates: { root }, window: 44_100, hop: 44_100, filtersLength: 512 };
    const grouped = await runEvalJob({ ...job, groups: parseStemGroup('other=guitar,piano,other') });
    const other = grouped.result.targets.find((t) => t.name === 'other')!;
    expect(other.frames[0].metrics.SDR).toBeGreaterThan(60); // the sum is the true "other"
    const plain = await runEvalJob(job); // scores other.wav alone: a third of the true stem
    const alone = plain.result.targets.find((t) => t.name === 'other')!;
    expect(alone.frames[0].metrics.SDR).toBeLessThan(10);
  });

  it('leaves a target that is silent for the whole song out of that song, and scores the rest', async () => {
    const song = await writeStemsTrack(join(dir, 'sets/quiet'), 'song', ['vocals', 'drums', 'guitar'], 5);
    await writeStereo(join(song, 'piano.wav'), [new Float32Array(44_100), new Float32Array(44_100)]);
    await writeStereo(join(song, 'mixture.wav'), testSignal(98, 44_100));
    const [track] = await listMusdbTracks(join(dir, 'sets'), 'quiet');
    const job = {
      track,
      estimates: { oracle: 'irm1' as const },
      window: 44_100,
      hop: 44_100,
      filtersLength: 512,
    };
    const { result } = await runEvalJob(job);
    expect(result.targets.map((t) => t.name).sort()).toEqual(['drums', 'guitar', 'vocals']);
  });
});
