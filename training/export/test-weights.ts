/** Random but non-trivial weights for export tests (BatchNorm statistics and affines not at their defaults). */
import {
  initUmxWeights,
  isHeadParameter,
  type UmxConfig,
  type UmxTargetWeights,
  type UmxWeights,
  umxParameters,
} from '../../src/core/model';
import { mulberry32 } from '../../src/core/random';

export function randomUmxWeights(config: UmxConfig, seed: number): UmxWeights {
  const random = mulberry32(seed);
  const u = (lo: number, hi: number) => lo + (hi - lo) * random();
  const targets: UmxWeights['targets'] = {};
  for (const target of config.targets) {
    const w = initUmxWeights(config, random);
    // Defaults (mean 0, var 1, weight 1, bias 0) would hide a wrong BatchNorm fold or a swapped buffer.
    for (const [name, arr] of Object.entries(w)) {
      const range = rangeFor(name);
      if (range) for (let i = 0; i < arr.length; i++) arr[i] = u(range[0], range[1]);
    }
    targets[target] = w;
  }
  if (config.joint) {
    // One trunk: every target shares the first one's (`checkJointWeights`).
    const first = targets[config.targets[0]]!;
    for (const t of config.targets.slice(1)) {
      for (const name of Object.keys(first)) if (!isHeadParameter(name)) targets[t]![name] = first[name];
    }
  }
  return { config, targets };
}

function rangeFor(name: string): [number, number] | null {
  if (name.endsWith('running_var')) return [0.5, 2];
  if (name.endsWith('running_mean') || /^bn\d\.bias$/.test(name)) return [-0.3, 0.3];
  if (/^bn\d\.weight$/.test(name)) return [0.6, 1.4];
  if (name === 'input_mean') return [-1, 0];
  if (name === 'input_scale' || name === 'output_scale') return [0.5, 2];
  if (name === 'output_mean') return [0.2, 1.5];
  return null;
}

/**
 * One network's weights: PyTorch init, then every BN statistic and input/output affine moved off its
 * default (the tfjs training tests' fixture).
 */
export function randomTargetWeights(c: UmxConfig, seed: number): UmxTargetWeights {
  const r = mulberry32(seed);
  const w = initUmxWeights(c, r);
  for (const spec of umxParameters(c)) {
    const d = w[spec.name];
    if (spec.name.endsWith('running_var') || spec.name === 'input_scale')
      for (let i = 0; i < d.length; i++) d[i] = 0.5 + r();
    else if (spec.init.kind !== 'uniform') for (let i = 0; i < d.length; i++) d[i] += 0.4 * (r() - 0.5);
  }
  return w;
}
