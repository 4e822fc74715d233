/**
 * The parameter table of one Open-Unmix target network and the weights container.
 *
 * Names and shapes are those of open-unmix-pytorch's `OpenUnmix.state_dict()` (PyTorch layouts:
 * Linear weight [out, in], LSTM weight_ih_l{k} [4·H, in] with gate blocks in the order i, f, g, o),
 * so official weights import by name. Two PyTorch conventions carried over on purpose:
 * `input_mean` holds the *negated* data mean (the model adds it) and `input_scale` the *reciprocal*
 * standard deviation (the model multiplies by it). BatchNorm's `num_batches_tracked` is not kept (it
 * only matters for momentum=None).
 */
import type { NetworkName } from '../stems';
import {
  inputFeatures,
  lstmDirectionSuffixes,
  lstmDirections,
  lstmHiddenPerDirection,
  type UmxConfig,
} from './config';

export type ParameterInit =
  | { readonly kind: 'zeros' }
  | { readonly kind: 'ones' }
  /** U(−bound, bound), PyTorch's default for Linear (1/√in) and LSTM (1/√H) weights. */
  | { readonly kind: 'uniform'; readonly bound: number };

export interface ParameterSpec {
  readonly name: string;
  readonly shape: readonly number[];
  /** 'buffer': running BatchNorm statistics, updated by training but not by the optimiser. */
  readonly role: 'weight' | 'buffer';
  readonly init: ParameterInit;
}

/**
 * A joint model's per-target head (`UmxConfig.joint`): everything from fc3 on. The other parameters
 * form the trunk, which every target of a joint model shares.
 */
const HEAD_PARAMETERS = new Set([
  'fc3.weight',
  'bn3.weight',
  'bn3.bias',
  'bn3.running_mean',
  'bn3.running_var',
  'output_scale',
  'output_mean',
]);

export function isHeadParameter(name: string): boolean {
  return HEAD_PARAMETERS.has(name);
}

/** One target network's tensors by parameter name (shapes per `umxParameters`). */
export type UmxTargetWeights = Record<string, Float32Array>;

/**
 * A whole model: the config and one set of weights per target. In a joint model every target's set
 * holds the shared trunk too (`checkJointWeights`): consumers that run one target at a time need no
 * special case, and writers store the trunk once.
 */
export interface UmxWeights {
  readonly config: UmxConfig;
  readonly targets: Partial<Record<NetworkName, UmxTargetWeights>>;
}

/** The parameters of one target network, in open-unmix-pytorch's state_dict order. */
export function umxParameters(c: UmxConfig): ParameterSpec[] {
  const hidden = c.hiddenSize;
  const fcIn = c.nbChannels * inputFeatures(c);
  const out = c.nbChannels * c.nbBins;
  const h = lstmHiddenPerDirection(c);
  const specs: ParameterSpec[] = [];
  const w = (name: string, shape: number[], init: ParameterInit) =>
    specs.push({ name, shape, role: 'weight', init });
  const batchNorm = (name: string, n: number) => {
    w(`${name}.weight`, [n], { kind: 'ones' });
    w(`${name}.bias`, [n], { kind: 'zeros' });
    specs.push({ name: `${name}.running_mean`, shape: [n], role: 'buffer', init: { kind: 'zeros' } });
    specs.push({ name: `${name}.running_var`, shape: [n], role: 'buffer', init: { kind: 'ones' } });
  };

  w('fc1.weight', [hidden, fcIn], { kind: 'uniform', bound: 1 / Math.sqrt(fcIn) });
  batchNorm('bn1', hidden);
  const lstmInit: ParameterInit = { kind: 'uniform', bound: 1 / Math.sqrt(h) };
  for (let layer = 0; layer < c.nbLayers; layer++) {
    const inSize = layer === 0 ? hidden : h * lstmDirections(c);
    for (const suffix of lstmDirectionSuffixes(c)) {
      w(`lstm.weight_ih_l${layer}${suffix}`, [4 * h, inSize], lstmInit);
      w(`lstm.weight_hh_l${layer}${suffix}`, [4 * h, h], lstmInit);
      w(`lstm.bias_ih_l${layer}${suffix}`, [4 * h], lstmInit);
      w(`lstm.bias_hh_l${layer}${suffix}`, [4 * h], lstmInit);
    }
  }
  w('fc2.weight', [hidden, 2 * hidden], { kind: 'uniform', bound: 1 / Math.sqrt(2 * hidden) });
  batchNorm('bn2', hidden);
  w('fc3.weight', [out, hidden], { kind: 'uniform', bound: 1 / Math.sqrt(hidden) });
  batchNorm('bn3', out);
  const nIn = inputFeatures(c);
  w('input_mean', [nIn], { kind: 'zeros' });
  w('input_scale', [nIn], { kind: 'ones' });
  w('output_scale', [c.nbBins], { kind: 'ones' });
  w('output_mean', [c.nbBins], { kind: 'ones' });
  return specs;
}

export function parameterSize(spec: ParameterSpec): number {
  return spec.shape.reduce((a, b) => a * b, 1);
}

/** Fresh weights with PyTorch's default initialisation, drawn from `random` (e.g. `mulberry32(seed)`). */
export function initUmxWeights(c: UmxConfig, random: () => number): UmxTargetWeights {
  const weights: UmxTargetWeights = {};
  for (const spec of umxParameters(c)) {
    const data = new Float32Array(parameterSize(spec));
    const init = spec.init;
    if (init.kind === 'ones') data.fill(1);
    else if (init.kind === 'uniform') {
      for (let i = 0; i < data.length; i++) data[i] = (2 * random() - 1) * init.bound;
    }
    weights[spec.name] = data;
  }
  return weights;
}

/** Throws unless `weights` has exactly the table's names with the table's sizes. */
export function checkUmxWeights(c: UmxConfig, weights: UmxTargetWeights): void {
  const specs = umxParameters(c);
  for (const spec of specs) {
    const data = weights[spec.name];
    if (!data) throw new Error(`weights: missing "${spec.name}"`);
    if (data.length !== parameterSize(spec)) {
      throw new Error(
        `weights: "${spec.name}" has ${data.length} values, expected [${spec.shape.join(', ')}]`,
      );
    }
  }
  const known = new Set(specs.map((s) => s.name));
  const extra = Object.keys(weights).filter((n) => !known.has(n));
  if (extra.length > 0) throw new Error(`weights: unknown parameter(s) ${extra.join(', ')}`);
}

/**
 * Throws unless, in a joint model, every target's trunk tensors equal the first target's (they are
 * one network: a trunk that differs between targets would be silently dropped by the writers, which
 * store it once). No-op for per-target models.
 */
export function checkJointWeights(weights: UmxWeights): void {
  const c = weights.config;
  if (!c.joint) return;
  const first = weights.targets[c.targets[0]];
  if (!first) throw new Error(`weights: no "${c.targets[0]}" network`);
  for (const t of c.targets.slice(1)) {
    const w = weights.targets[t];
    if (!w) throw new Error(`weights: no "${t}" network`);
    for (const spec of umxParameters(c)) {
      if (isHeadParameter(spec.name)) continue;
      const a = first[spec.name];
      const b = w[spec.name];
      if (a === b) continue;
      if (!a || !b || a.length !== b.length || a.some((v, i) => !Object.is(v, b[i]))) {
        throw new Error(
          `weights: joint model, but "${t}" has another "${spec.name}" than "${c.targets[0]}" (the trunk is shared)`,
        );
      }
    }
  }
}
