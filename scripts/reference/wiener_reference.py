#!/usr/bin/env python3
"""Reference multichannel Wiener / EM post-filter outputs for src/core/wiener.test.ts.

Written from the math of norbert.wiener as Open-Unmix uses it (openunmix.filtering.wiener), with
generic NumPy (einsum, np.linalg.inv), not from the TypeScript code:
  init      y_j = v_j / (eps + sum_k v_k) * x          (softmask)
            y_j = v_j * exp(i angle(x))                  (otherwise)
  residual  y_{J+1} = x - sum_j y_j                      (optional, joins the EM as a source)
  scaling   s = max(1, max|x| / scale_factor); x, y /= s before EM, y *= s after
  EM step   v_j = mean_c |y_j|^2,  R_j(f) = sum_t y_j y_j^H / (eps + sum_t v_j),
            Cxx = sum_j v_j R_j + sqrt(eps) I,  G_j = v_j R_j Cxx^-1,  y_j = G_j x
With iterations = 0 the initial estimates are returned unscaled.

Layouts in the JSON (Open-Unmix's): v [frames][bins][channels][sources], x [frames][bins][channels],
outputs [frames][bins][channels][sources(+1)], flattened in that order, complex split into re / im.
Writes src/core/__fixtures__/wiener_reference.json. Usage: python3 scripts/reference/wiener_reference.py
"""
import json
import os

import numpy as np

OUT = os.path.join(os.path.dirname(__file__), '..', '..', 'src', 'core', '__fixtures__', 'wiener_reference.json')


def wiener(v, x, iterations, softmask, residual, eps, scale_factor=10.0):
    if softmask:
        y = x[..., None] * (v / (eps + v.sum(-1, keepdims=True)))
    else:
        y = v * np.exp(1j * np.angle(x))[..., None]
    if residual:
        y = np.concatenate([y, (x - y.sum(-1))[..., None]], axis=-1)
    if iterations == 0:
        return y
    s = max(1.0, np.abs(x).max() / scale_factor)
    x = x / s
    y = y / s
    channels = x.shape[-1]
    for _ in range(iterations):
        psd = np.mean(np.abs(y) ** 2, axis=2)  # (frames, bins, sources)
        R = np.einsum('tfcj,tfdj->fjcd', y, y.conj()) / (eps + psd.sum(0))[:, :, None, None]
        Cxx = np.einsum('tfj,fjcd->tfcd', psd, R) + np.sqrt(eps) * np.eye(channels)
        G = np.einsum('tfj,fjcd,tfde->tfjce', psd, R, np.linalg.inv(Cxx))
        y = np.einsum('tfjce,tfe->tfcj', G, x)
    return y * s


def num(a):
    return [float('%.9g' % v) for v in np.asarray(a, dtype=np.float64).ravel()]


def main():
    rng = np.random.default_rng(7)
    frames, bins, channels, sources = 6, 9, 2, 3
    inputs = []
    cases = []

    def add_input(name, v, x):
        inputs.append({'name': name, 'v': num(v), 'xRe': num(x.real), 'xIm': num(x.imag)})
        return len(inputs) - 1, v, x

    def add_case(inp, iterations, softmask, residual, eps):
        index, v, x = inp
        y = wiener(v, x, iterations, softmask, residual, eps)
        cases.append({
            'input': index,
            'iterations': iterations,
            'softmask': softmask,
            'residual': residual,
            'eps': eps,
            'sources': y.shape[-1],
            're': num(y.real),
            'im': num(y.imag),
        })

    v = rng.uniform(0, 1, (frames, bins, channels, sources)) ** 2
    x = rng.normal(size=(frames, bins, channels)) + 1j * rng.normal(size=(frames, bins, channels))
    x[0, 0, :] = 0  # a silent bin: the phase of 0 is taken as 0
    unit = add_input('|x| ~ 1 (no rescaling)', v, x)
    # max|x| / 10 > 1, so the EM runs on rescaled data.
    loud = add_input('|x| ~ 60 (EM rescaled by max|x| / 10)', 60 * v, 60 * x)

    for iterations in [0, 1, 2]:
        for residual in [False, True]:
            for softmask in [False, True]:
                add_case(unit, iterations, softmask, residual, 1e-10)
    add_case(loud, 2, False, False, 1e-10)
    add_case(loud, 1, True, True, 1e-10)
    # An eps large enough to matter (mask denominator, covariance weight, regularisation).
    add_case(unit, 2, True, False, 1e-2)

    with open(OUT, 'w') as f:
        json.dump({
            'generator': 'scripts/reference/wiener_reference.py',
            'frames': frames,
            'bins': bins,
            'channels': channels,
            'sources': sources,
            'scaleFactor': 10.0,
            'inputs': inputs,
            'cases': cases,
        }, f, separators=(',', ':'))
        f.write('\n')
    print('wrote', os.path.normpath(OUT), os.path.getsize(OUT), 'bytes')


if __name__ == '__main__':
    main()
