/**
 * Parts → Standard MIDI Files (`midi-file`). One file can hold several parts one after another in time
 * ("segments"), so that one FluidSynth process loads a soundfont once and renders every part of a song
 * that uses it; the rendered audio is then cut back into parts at the known segment offsets.
 */
import { type MidiData, type MidiEvent, writeMidi } from 'midi-file';
import type { Part } from './compose';

/** Fixed MIDI clock: 120 BPM at 960 ticks per beat = 1920 ticks per second (0.52 ms). */
export const TICKS_PER_BEAT = 960;
const MICROSECONDS_PER_BEAT = 500_000;
export const TICKS_PER_SECOND = (TICKS_PER_BEAT * 1e6) / MICROSECONDS_PER_BEAT;

export const DRUM_CHANNEL = 9;
/** Silence between parts of one file: releases and tails ring out there and are cut away. */
export const SEGMENT_GAP_SECONDS = 1.5;
/** Silence before the first part (the channel setup sits in it). */
export const LEAD_SECONDS = 0.25;

interface TimedEvent {
  tick: number;
  /** Tie-break at equal ticks: controllers and program first, note-offs before note-ons. */
  order: number;
  event: MidiEvent;
}

function channelSetup(channel: number, program: number, tick: number): TimedEvent[] {
  const cc = (controllerType: number, value: number, order: number): TimedEvent => ({
    tick,
    order,
    event: { deltaTime: 0, type: 'controller', channel, controllerType, value },
  });
  return [
    cc(121, 0, 0), // reset all controllers
    cc(0, 0, 1), // bank 0 (on the drum channel FluidSynth picks kits from bank 128 by program)
    { tick, order: 2, event: { deltaTime: 0, type: 'programChange', channel, programNumber: program } },
    cc(101, 0, 3), // RPN 0 = pitch-bend range
    cc(100, 0, 4),
    cc(6, 2, 5), // ±2 semitones
    cc(38, 0, 6),
    cc(101, 127, 7), // RPN null
    cc(100, 127, 8),
    cc(7, 100, 9), // volume
    cc(10, 64, 10), // pan centre (stereo placement happens in the mix)
    cc(91, 0, 11), // no soundfont reverb/chorus send: effects are applied per stem afterwards
    cc(93, 0, 12),
    cc(11, 127, 13),
    { tick, order: 14, event: { deltaTime: 0, type: 'pitchBend', channel, value: 0 } },
  ];
}

/**
 * One MIDI file with `parts[k]` starting at `leadSeconds + k * (durationSeconds + gapSeconds)`.
 * Returns the file bytes and each part's start in seconds.
 */
export function partsToMidi(
  parts: readonly Part[],
  durationSeconds: number,
  gapSeconds = SEGMENT_GAP_SECONDS,
  leadSeconds = LEAD_SECONDS,
): { bytes: Uint8Array; starts: number[]; segmentSeconds: number } {
  const segmentSeconds = durationSeconds + gapSeconds;
  const events: TimedEvent[] = [];
  const starts: number[] = [];
  const toTick = (s: number) => Math.max(0, Math.round(s * TICKS_PER_SECOND));
  parts.forEach((part, k) => {
    const offset = leadSeconds + k * segmentSeconds;
    starts.push(offset);
    const channel = part.drums ? DRUM_CHANNEL : 0;
    events.push(...channelSetup(channel, part.program, toTick(offset - 0.2)));
    for (const c of part.ccs) {
      events.push({
        tick: toTick(offset + c.time),
        order: 20,
        event: { deltaTime: 0, type: 'controller', channel, controllerType: c.controller, value: c.value },
      });
    }
    for (const b of part.bends) {
      const value = Math.max(-8192, Math.min(8191, Math.round(b.value)));
      events.push({
        tick: toTick(offset + b.time),
        order: 21,
        event: { deltaTime: 0, type: 'pitchBend', channel, value },
      });
    }
    for (const n of part.notes) {
      const on = toTick(offset + n.time);
      const off = Math.max(on + 1, toTick(offset + n.time + n.duration));
      events.push({
        tick: on,
        order: 40,
        event: { deltaTime: 0, type: 'noteOn', channel, noteNumber: n.pitch, velocity: n.velocity },
      });
      events.push({
        tick: off,
        order: 30,
        event: { deltaTime: 0, type: 'noteOff', channel, noteNumber: n.pitch, velocity: 0 },
      });
    }
    // end of the segment: pedal up, all notes off (releases ring into the gap before the next part)
    const end = toTick(offset + durationSeconds);
    events.push({
      tick: end,
      order: 0,
      event: { deltaTime: 0, type: 'controller', channel, controllerType: 64, value: 0 },
    });
    events.push({
      tick: end,
      order: 1,
      event: { deltaTime: 0, type: 'controller', channel, controllerType: 123, value: 0 },
    });
  });
  // a last harmless event keeps the player (and the file renderer) running to the end of the last gap
  const last = toTick(leadSeconds + parts.length * segmentSeconds);
  events.push({
    tick: last,
    order: 0,
    event: { deltaTime: 0, type: 'controller', channel: 15, controllerType: 121, value: 0 },
  });
  events.sort((a, b) => a.tick - b.tick || a.order - b.order);
  const track: MidiEvent[] = [
    { deltaTime: 0, type: 'setTempo', microsecondsPerBeat: MICROSECONDS_PER_BEAT },
    { deltaTime: 0, type: 'timeSignature', numerator: 4, denominator: 4, metronome: 24, thirtyseconds: 8 },
  ];
  let prev = 0;
  for (const e of events) {
    e.event.deltaTime = e.tick - prev;
    prev = e.tick;
    track.push(e.event);
  }
  track.push({ deltaTime: 0, type: 'endOfTrack' });
  const data: MidiData = {
    header: { format: 0, numTracks: 1, ticksPerBeat: TICKS_PER_BEAT },
    tracks: [track],
  };
  return { bytes: Uint8Array.from(writeMidi(data)), starts, segmentSeconds };
}

/** A single part as its own MIDI file (kept next to the stems for inspection and reuse). */
export function partToMidi(part: Part, seconds: number): Uint8Array {
  return partsToMidi([part], seconds).bytes;
}
