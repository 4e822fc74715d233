#!/usr/bin/env python3
"""Reference STFT / ISTFT frames for src/core/stft.test.ts.

An independent NumPy implementation of the definitions of torch.stft / torch.istft as Open-Unmix
calls them (periodic Hann window, center=True, pad_mode='reflect', onesided, normalized=False),
written from the definitions, not from the TypeScript code. Short signals (fewer than n_fft/2 + 1
samples, where torch raises) use zero padding, which is Stemdeck's documented choice.

Writes src/core/__fixtures__/stft_reference.json. Deterministic: rerun after changing a case.
Usage: python3 scripts/reference/stft_reference.py
"""
import json
import os

import numpy as np

OUT = os.path.join(os.path.dirname(__file__), '..', '..', 'src', 'core', '__fixtures__', 'stft_reference.json')


def hann_periodic(n):
    return 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n) / n)


def stft(x, n_fft, hop):
    """x: (channels, length) -> complex (channels, frames, n_fft // 2 + 1)."""
    half = n_fft // 2
    mode = 'reflect' if x.shape[1] > half else 'constant'
    xp = np.pad(x, ((0, 0), (half, half)), mode=mode)
    frames = 1 + (xp.shape[1] - n_fft) // hop
    idx = np.arange(n_fft)[None, :] + hop * np.arange(frames)[:, None]
    return np.fft.rfft(xp[:, idx] * hann_periodic(n_fft), axis=-1)


def istft(spec, hop, length=None):
    """torch.istft(center=True, window=hann): spec (channels, frames, bins) -> (channels, samples)."""
    channels, frames, bins = spec.shape
    n_fft = 2 * (bins - 1)
    w = hann_periodic(n_fft)
    expected = n_fft + hop * (frames - 1)
    y = np.zeros((channels, expected))
    env = np.zeros(expected)
    for t in range(frames):
        y[:, t * hop:t * hop + n_fft] += np.fft.irfft(spec[:, t, :], n=n_fft, axis=-1) * w
        env[t * hop:t * hop + n_fft] += w ** 2
    start = n_fft // 2
    end = start + length if length is not None else expected - n_fft // 2
    y = y[:, start:end]
    env = env[start:end]
    assert np.all(np.abs(env) > 1e-11)
    y = y / env
    if end > expected:
        y = np.pad(y, ((0, 0), (0, end - expected)))
    return y


def formula_signal(channels, length):
    """Deterministic input that both NumPy and TypeScript compute exactly (integer hash + sines)."""
    n = np.arange(length)
    rows = []
    for c in range(channels):
        noise = ((n * 7919 + c * 104729) % 1000) / 500.0 - 1.0
        rows.append(0.5 * np.sin(0.0123 * n + c) + 0.3 * np.sin(0.731 * n) + 0.1 * noise)
    return np.array(rows)


def num(a):
    return [float('%.10g' % v) for v in np.asarray(a, dtype=np.float64).ravel()]


def main():
    rng = np.random.default_rng(20240601)
    stft_cases = []

    def add(name, x, n_fft, hop, bins=None, store_input=True):
        spec = stft(x, n_fft, hop)
        sel = np.arange(spec.shape[2]) if bins is None else np.array(bins)
        case = {
            'name': name,
            'nFft': n_fft,
            'hop': hop,
            'channels': x.shape[0],
            'length': x.shape[1],
            'frames': spec.shape[1],
            'bins': [int(b) for b in sel],
            # spectrum layout: [channel][frame][selected bin]
            're': num(spec[:, :, sel].real),
            'im': num(spec[:, :, sel].imag),
        }
        if store_input:
            case['input'] = [num(ch) for ch in x]
        else:
            case['input'] = 'formula'
        stft_cases.append(case)

    add('random stereo, n_fft 64 hop 16', rng.uniform(-1, 1, (2, 300)), 64, 16)
    add('hop not dividing n_fft, odd length', rng.uniform(-1, 1, (2, 101)), 32, 24)
    add('exactly n_fft/2 + 1 samples (reflect still possible)', rng.uniform(-1, 1, (1, 33)), 64, 16)
    add('shorter than n_fft/2 + 1: zero padding', rng.uniform(-1, 1, (2, 20)), 64, 16)
    sel = [0, 1, 2, 3, 17, 100, 511, 512, 1000, 1023, 1024, 1025, 1500, 2000, 2046, 2047, 2048]
    add('Open-Unmix defaults n_fft 4096 hop 1024', formula_signal(2, 5000), 4096, 1024, bins=sel, store_input=False)

    frames, n_fft, hop = 10, 64, 16
    spec = rng.normal(size=(2, frames, n_fft // 2 + 1)) + 1j * rng.normal(size=(2, frames, n_fft // 2 + 1))
    istft_case = {
        'name': 'random (inconsistent) spectrogram, n_fft 64 hop 16',
        'hop': hop,
        'channels': 2,
        'frames': frames,
        'bins': n_fft // 2 + 1,
        # spectrum layout: [channel][frame][bin]
        're': num(spec.real),
        'im': num(spec.imag),
        # per requested length (null: torch's default hop * (frames - 1)), one array per channel
        'outputs': [{'length': length, 'output': [num(ch) for ch in istft(spec, hop, length)]}
                    for length in [None, 100, 150, 200]],
    }

    with open(OUT, 'w') as f:
        json.dump({
            'generator': 'scripts/reference/stft_reference.py',
            'stft': stft_cases,
            'istft': istft_case,
        }, f, separators=(',', ':'))
        f.write('\n')
    print('wrote', os.path.normpath(OUT), os.path.getsize(OUT), 'bytes')


if __name__ == '__main__':
    main()
