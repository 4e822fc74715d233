/**
 * Open-Unmix model configuration (one network per target, all targets sharing this config; or, with
 * `joint`, one network whose trunk all targets share, with a head per target).
 *
 * Mirrors open-unmix-pytorch's `OpenUnmix(nb_bins, nb_channels, hidden_size, nb_layers, unidirectional,
 * max_bin)` so that official weights map 1:1 (see `parameters.ts`). One addition: the input may be
 * reduced to `bands` (mel- or log-spaced) by a fixed, non-trained band matrix; the output mask stays on
 * the linear bins either way.
 */
import { groupMembers, type NetworkName, networkGroups } from '../stems';
import { DEFAULT_HOP, DEFAULT_N_FFT } from '../stft';

/** What fc1 sees: the linear magnitude bins below `maxBin`, or `bands` averages of those bins. */
export type InputRepresentation =
  | { readonly kind: 'linear' }
  | { readonly kind: 'bands'; readonly scale: 'mel' | 'log'; readonly bands: number };

export interface UmxConfig {
  /**
   * One network per target, in this order: stems, and possibly group networks that estimate a sum
   * of member stems (`groupMembers` in ../stems: "guitar+piano+other").
   */
  readonly targets: readonly NetworkName[];
  readonly sampleRate: number;
  /** Audio channels the network is built for (fc1 input = nbChannels × input features). */
  readonly nbChannels: number;
  readonly nFft: number;
  readonly hop: number;
  /** nFft / 2 + 1: the bins of the output mask. */
  readonly nbBins: number;
  /** Bandwidth cut: bins [0, maxBin) reach the network (1487 ≈ 16 kHz at 44.1 kHz / 4096). */
  readonly maxBin: number;
  /** Width of fc1/fc2 and of the LSTM output (both directions together when bidirectional). */
  readonly hiddenSize: number;
  readonly nbLayers: number;
  readonly bidirectional: boolean;
  readonly input: InputRepresentation;
  /** Dropout between LSTM layers during training (torch.nn.LSTM's `dropout`; Open-Unmix uses 0.4). */
  readonly lstmDropout: number;
  /** BatchNorm1d defaults. */
  readonly bnEps: number;
  readonly bnMomentum: number;
  /**
   * One joint network instead of one per target: the targets share everything up to fc3 (input
   * scaler, fc1, bn1, LSTM stack, fc2, bn2) and each has its own head (fc3, bn3, output affine) —
   * the same as one network whose fc3 has targets × channels × bins outputs. Absent = false, so
   * configs written before it existed read unchanged.
   */
  readonly joint?: boolean;
  /**
   * The second-stage split: member networks that read their group's estimate (the model's output
   * for "guitar+piano+other", ensemble mean included) instead of the mixture, e.g.
   * `{ guitar: 'guitar+piano+other' }` — no vocals, drums or bass reach them. Their input scaler is
   * fitted to that estimate. A network set trained alone may lack the group; the model it joins must
   * have it (the export checks). Absent: every network reads the mixture.
   */
  readonly inputFrom?: Readonly<Partial<Record<NetworkName, NetworkName>>>;
}

export const UMX_DEFAULTS: UmxConfig = {
  targets: ['vocals', 'drums', 'bass', 'other'],
  sampleRate: 44100,
  nbChannels: 2,
  nFft: DEFAULT_N_FFT,
  hop: DEFAULT_HOP,
  nbBins: DEFAULT_N_FFT / 2 + 1,
  maxBin: 1487,
  hiddenSize: 512,
  nbLayers: 3,
  bidirectional: true,
  input: { kind: 'linear' },
  lstmDropout: 0.4,
  bnEps: 1e-5,
  bnMomentum: 0.1,
};

/**
 * Defaults overridden by `overrides`; nbBins (nFft/2 + 1) and hop (nFft/4) follow nFft unless given.
 * Throws on an inconsistent config.
 */
export function umxConfig(overrides: Partial<UmxConfig> = {}): UmxConfig {
  const nFft = overrides.nFft ?? UMX_DEFAULTS.nFft;
  const config: UmxConfig = { ...UMX_DEFAULTS, nbBins: nFft / 2 + 1, hop: nFft / 4, ...overrides };
  validateUmxConfig(config);
  return config;
}

/**
 * Throws on an invalid config. `modelTargets`: for an ensemble member that has some of a model's
 * targets (e.g. only a group network), the model's — groups are checked against them.
 */
export function validateUmxConfig(c: UmxConfig, modelTargets: readonly string[] = c.targets): void {
  const fail = (msg: string): never => {
    throw new Error(`UmxConfig: ${msg}`);
  };
  const posInt = (v: number) => Number.isInteger(v) && v > 0;
  if (!posInt(c.nFft) || (c.nFft & (c.nFft - 1)) !== 0) fail(`nFft must be a power of two, got ${c.nFft}`);
  if (!posInt(c.hop) || c.hop > c.nFft) fail(`hop must be in [1, nFft], got ${c.hop}`);
  if (c.nbBins !== c.nFft / 2 + 1) fail(`nbBins must be nFft/2 + 1 = ${c.nFft / 2 + 1}, got ${c.nbBins}`);
  if (!posInt(c.maxBin) || c.maxBin > c.nbBins) fail(`maxBin must be in [1, nbBins], got ${c.maxBin}`);
  if (!posInt(c.nbChannels)) fail(`nbChannels must be a positive integer, got ${c.nbChannels}`);
  if (!posInt(c.nbLayers)) fail(`nbLayers must be a positive integer, got ${c.nbLayers}`);
  if (!posInt(c.hiddenSize)) fail(`hiddenSize must be a positive integer, got ${c.hiddenSize}`);
  // PyTorch's hidden_size // 2 would silently drop a unit; refuse instead.
  if (c.bidirectional && c.hiddenSize % 2 !== 0) fail(`bidirectional needs an even hiddenSize`);
  if (c.targets.length === 0) fail('no targets');
  try {
    networkGroups(modelTargets);
    if (new Set(c.targets).size !== c.targets.length) throw new Error('duplicate targets');
    const foreign = c.targets.filter((t) => !modelTargets.includes(t));
    if (foreign.length > 0) throw new Error(`targets not in the model: ${foreign.join(', ')}`);
  } catch (err) {
    fail(err instanceof Error ? err.message : String(err));
  }
  if (c.joint !== undefined && typeof c.joint !== 'boolean') fail(`joint must be true or false`);
  for (const [t, from] of Object.entries(c.inputFrom ?? {})) {
    if (!c.targets.includes(t as NetworkName)) fail(`inputFrom: "${t}" is not one of the networks`);
    let members: string[] | null = null;
    try {
      members = groupMembers(String(from));
    } catch {}
    if (!members?.includes(t)) fail(`inputFrom: "${t}" can read only a group it is in, not "${from}"`);
    if (c.joint) fail(`inputFrom: a joint model's networks share one input`);
  }
  if (!(c.lstmDropout >= 0 && c.lstmDropout < 1)) fail(`lstmDropout must be in [0, 1)`);
  if (c.input.kind === 'bands' && (!posInt(c.input.bands) || c.input.bands > c.maxBin)) {
    fail(`bands must be in [1, maxBin], got ${c.input.bands}`);
  }
}

/** Features per channel that fc1 sees: maxBin (linear) or the band count. */
export function inputFeatures(c: UmxConfig): number {
  return c.input.kind === 'linear' ? c.maxBin : c.input.bands;
}

/** LSTM units per direction (Open-Unmix halves the hidden size for the bidirectional model). */
export function lstmHiddenPerDirection(c: UmxConfig): number {
  return c.bidirectional ? c.hiddenSize / 2 : c.hiddenSize;
}

export function lstmDirections(c: UmxConfig): number {
  return c.bidirectional ? 2 : 1;
}

/** PyTorch's LSTM parameter-name suffix of each direction: forward '', backward '_reverse'. */
export function lstmDirectionSuffixes(c: UmxConfig): readonly string[] {
  return c.bidirectional ? ['', '_reverse'] : [''];
}

/** The architecture in one line, for the tools' logs. */
export function describeUmx(c: UmxConfig): string {
  const input =
    c.input.kind === 'linear' ? `linear input to bin ${c.maxBin}` : `${c.input.bands} ${c.input.scale} bands`;
  return (
    `hidden ${c.hiddenSize}, ${c.nbLayers} ${c.bidirectional ? 'bi' : 'uni'}directional LSTM layers, ${input}` +
    `${c.joint ? ', joint' : ''}, ${c.nbChannels} channels`
  );
}

/** Seconds of audio in `frames` STFT frames (how the training throughput is counted). */
export function framesToSeconds(c: UmxConfig, frames: number): number {
  return (frames * c.hop) / c.sampleRate;
}
