/**
 * Reads PyTorch `.pth` state_dicts (open-unmix-pytorch's official weights) in Node, without PyTorch.
 *
 * Two on-disk formats of torch.save:
 * - zip (torch ≥ 1.6, e.g. umxl): `<prefix>/data.pkl` (the pickle), `<prefix>/data/<key>` (raw
 *   storages), `<prefix>/byteorder`, `<prefix>/version`. Storage persistent ids are
 *   ('storage', torch.<Type>Storage, key, location, numel).
 * - legacy (torch < 1.6, e.g. the 2019 umxhq files): consecutive pickles (magic number, protocol
 *   version, sys info, the object, the sorted storage keys), then each storage as an int64 element
 *   count and its bytes. Persistent ids carry a sixth field, view metadata.
 *
 * Unpickling uses `pickleparser` with torch's few names registered: `collections.OrderedDict`,
 * `torch._utils._rebuild_tensor_v2` and the storage classes; any other global is left as an inert
 * placeholder object, so nothing in the file is executed.
 */
import { readFile } from 'node:fs/promises';
import { unzipSync } from 'fflate';
import { BufferReader, NameRegistry, Parser } from 'pickleparser';
import { float16BitsToFloat32 } from '../../src/core/float16';
import {
  parameterSize,
  type UmxConfig,
  type UmxTargetWeights,
  type UmxWeights,
  umxConfig,
  umxParameters,
} from '../../src/core/model';
import type { StemName } from '../../src/core/stems';

/** A tensor as the pickle describes it: a strided view into a storage. */
export interface PthTensor {
  readonly dtype: PthDtype;
  readonly shape: readonly number[];
  /** Values in row-major order, converted to float32 (LongStorage values included). */
  values(): Float32Array;
}

type PthDtype = 'float32' | 'float64' | 'float16' | 'bfloat16' | 'int64' | 'int32' | 'uint8';

const STORAGE_DTYPES: Record<string, PthDtype> = {
  FloatStorage: 'float32',
  DoubleStorage: 'float64',
  HalfStorage: 'float16',
  BFloat16Storage: 'bfloat16',
  LongStorage: 'int64',
  IntStorage: 'int32',
  ByteStorage: 'uint8',
};
const DTYPE_BYTES: Record<PthDtype, number> = {
  float32: 4,
  float64: 8,
  float16: 2,
  bfloat16: 2,
  int64: 8,
  int32: 4,
  uint8: 1,
};

/** Marker the storage-class globals resolve to. */
class StorageType {
  constructor(readonly dtype: PthDtype) {}
}

interface StorageRef {
  readonly dtype: PthDtype;
  readonly key: string;
  readonly numel: number;
  /** Legacy view metadata: (view key, offset, size) into another storage. */
  readonly view: readonly [string, number, number] | null;
}

/** Reads every tensor of a torch.save'd (state) dict; `source` names the file in errors. */
export function readPth(bytes: Uint8Array, source = '.pth file'): Map<string, PthTensor> {
  const fail = (msg: string): never => {
    throw new Error(`${source}: ${msg}`);
  };
  const isZip = bytes[0] === 0x50 && bytes[1] === 0x4b && bytes[2] === 0x03 && bytes[3] === 0x04;
  const storageRefs: StorageRef[] = [];
  const parser = (extraArgs: number) =>
    new Parser({
      nameResolver: torchNames(),
      unpicklingTypeOfDictionary: 'Map',
      persistentResolver: {
        resolve(pid: unknown) {
          if (!Array.isArray(pid) || pid[0] !== 'storage' || pid.length !== 5 + extraArgs) {
            return fail(`unexpected persistent id ${JSON.stringify(pid)}`);
          }
          const type = (pid[1] as { marker?: unknown } | null)?.marker;
          if (!(type instanceof StorageType))
            return fail(`a storage of an unsupported type (${describe(pid[1])})`);
          const view = extraArgs ? (pid[5] as [string, number, number] | null) : null;
          const ref: StorageRef = { dtype: type.dtype, key: String(pid[2]), numel: Number(pid[4]), view };
          storageRefs.push(ref);
          return ref;
        },
      },
    });

  let root: unknown;
  const storageBytes = new Map<string, Uint8Array>();
  if (isZip) {
    let entries: Record<string, Uint8Array>;
    try {
      entries = unzipSync(bytes);
    } catch (err) {
      return fail(`not a readable zip (${(err as Error).message})`);
    }
    const pkl = Object.keys(entries).find((n) => /^[^/]+\/data\.pkl$/.test(n));
    if (!pkl) return fail('zip has no <name>/data.pkl: not a torch.save file');
    const prefix = pkl.slice(0, -'data.pkl'.length);
    const byteorder = entries[`${prefix}byteorder`];
    // Files without the record predate it and were always written little-endian.
    if (byteorder && new TextDecoder().decode(byteorder).trim() !== 'little') {
      fail('big-endian .pth files are not supported');
    }
    root = parsePickle(parser(0), new BufferReader(entries[pkl]), fail);
    for (const [name, data] of Object.entries(entries)) {
      if (name.startsWith(`${prefix}data/`)) storageBytes.set(name.slice(prefix.length + 5), data);
    }
  } else if (bytes[0] === 0x80) {
    // Legacy: magic number, protocol version, sys info, object, storage keys, then storages.
    // The magic number is a 10-byte LONG1, which pickleparser refuses ("too large"): match its bytes.
    const magic = [0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, 0x2e];
    if (magic.some((b, i) => bytes[i] !== b))
      fail('not a torch.save file (no zip header, no legacy magic number)');
    const reader = new BufferReader(bytes.subarray(magic.length));
    const header = new Parser();
    parsePickle(header, reader, fail); // protocol version
    const sysInfo = parsePickle(new Parser({ unpicklingTypeOfDictionary: 'Map' }), reader, fail);
    if (sysInfo instanceof Map && sysInfo.get('little_endian') === false) {
      fail('big-endian .pth files are not supported');
    }
    root = parsePickle(parser(1), reader, fail);
    const keys = parsePickle(header, reader, fail);
    if (!Array.isArray(keys)) return fail('legacy format: no storage key list');
    let pos = magic.length + reader.position;
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    for (const key of keys) {
      const ref = storageRefs.find((r) => r.key === String(key)) ?? fail(`storage ${key} is not referenced`);
      if (pos + 8 > bytes.length) fail(`truncated before storage ${key}`);
      const numel = Number(view.getBigInt64(pos, true));
      const n = numel * DTYPE_BYTES[ref.dtype];
      if (pos + 8 + n > bytes.length) fail(`storage ${key} is truncated`);
      storageBytes.set(String(key), bytes.subarray(pos + 8, pos + 8 + n));
      pos += 8 + n;
    }
  } else {
    return fail('neither a zip nor a pickle: not a torch.save file');
  }

  const dict = root instanceof Map ? root : fail('the file holds no dict (expected a state_dict)');
  const out = new Map<string, PthTensor>();
  for (const [key, value] of dict) {
    if (!(value instanceof RebuiltTensor)) continue; // non-tensor entries (e.g. metadata) carry no weights
    out.set(String(key), value.bind(storageBytes, `${source}: "${key}"`));
  }
  return out;
}

function describe(v: unknown): string {
  const proto = v as { prototype?: { __module__?: string; __name__?: string } } | null;
  return proto?.prototype?.__name__ ? `${proto.prototype.__module__}.${proto.prototype.__name__}` : String(v);
}

function parsePickle(parser: Parser, reader: BufferReader, fail: (m: string) => never): unknown {
  try {
    return parser.read(reader);
  } catch (err) {
    return fail(`unreadable pickle (${(err as Error).message})`);
  }
}

/** What torch._utils._rebuild_tensor_v2 returns here: the view's description, bound to bytes later. */
class RebuiltTensor {
  constructor(
    readonly storage: StorageRef,
    readonly offset: number,
    readonly shape: number[],
    readonly stride: number[],
  ) {}

  bind(storageBytes: Map<string, Uint8Array>, what: string): PthTensor {
    const { storage, shape, stride } = this;
    let offset = this.offset;
    let key = storage.key;
    if (storage.view) {
      // Legacy views: the root storage's key, and an element offset into it.
      key = String(storage.view[0]);
      offset += Number(storage.view[1]);
    }
    const data = storageBytes.get(key);
    if (!data) throw new Error(`${what}: storage ${key} is missing from the file`);
    const dtype = storage.dtype;
    const size = DTYPE_BYTES[dtype];
    const n = shape.reduce((a, b) => a * b, 1);
    let last = offset;
    for (let d = 0; d < shape.length; d++) last += (shape[d] - 1) * stride[d];
    if (n > 0 && (offset < 0 || (last + 1) * size > data.length)) {
      throw new Error(`${what}: the view [${shape}] stride [${stride}] runs past its storage`);
    }
    return {
      dtype,
      shape,
      values() {
        const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
        const read = elementReader(view, dtype);
        const out = new Float32Array(n);
        // Row-major walk over the (possibly strided) view.
        const index = new Array<number>(shape.length).fill(0);
        for (let i = 0; i < n; i++) {
          let e = offset;
          for (let d = 0; d < shape.length; d++) e += index[d] * stride[d];
          out[i] = read(e * size);
          for (let d = shape.length - 1; d >= 0; d--) {
            if (++index[d] < shape[d]) break;
            index[d] = 0;
          }
        }
        return out;
      },
    };
  }
}

function elementReader(view: DataView, dtype: PthDtype): (byte: number) => number {
  switch (dtype) {
    case 'float32':
      return (b) => view.getFloat32(b, true);
    case 'float64':
      return (b) => view.getFloat64(b, true);
    case 'float16':
      return (b) => float16BitsToFloat32(view.getUint16(b, true));
    case 'bfloat16':
      return (b) => {
        const f = new DataView(new ArrayBuffer(4));
        f.setUint32(0, view.getUint16(b, true) << 16);
        return f.getFloat32(0);
      };
    case 'int64':
      return (b) => Number(view.getBigInt64(b, true));
    case 'int32':
      return (b) => view.getInt32(b, true);
    case 'uint8':
      return (b) => view.getUint8(b);
  }
}

function torchNames(): NameRegistry {
  const names = new NameRegistry();
  names.register('collections', 'OrderedDict', () => new Map());
  names.register(
    'torch._utils',
    '_rebuild_tensor_v2',
    (storage: StorageRef, offset: number, shape: number[], stride: number[]) =>
      new RebuiltTensor(storage, Number(offset), shape.map(Number), stride.map(Number)),
  );
  // Older files (torch ≤ 0.4) use _rebuild_tensor with the same first four arguments.
  names.register(
    'torch._utils',
    '_rebuild_tensor',
    (storage: StorageRef, offset: number, shape: number[], stride: number[]) =>
      new RebuiltTensor(storage, Number(offset), shape.map(Number), stride.map(Number)),
  );
  for (const [name, dtype] of Object.entries(STORAGE_DTYPES)) {
    const marker = new StorageType(dtype);
    // A GLOBAL resolves to whatever is registered; storages are only ever compared, never called.
    names.register(
      'torch',
      name,
      Object.assign(() => marker, { marker }),
    );
  }
  return names;
}

// ---------------------------------------------------------------------------------------------------
// open-unmix state_dict → UmxWeights

/** Keys open-unmix state_dicts carry that are not model weights (STFT windows, BN counters). */
const IGNORED_KEY = /(^|\.)num_batches_tracked$|(^|\.)window$|^sample_rate$/;

export interface PthImportOptions {
  /** Audio sample rate of the model (the .pth does not record it). Default 44100. */
  readonly sampleRate?: number;
}

export interface PthImportResult {
  readonly weights: UmxWeights;
  /** Keys skipped per file (STFT windows, BatchNorm counters). */
  readonly ignored: ReadonlyMap<string, readonly string[]>;
}

/**
 * Maps one open-unmix state_dict per target to UmxWeights. The config (hidden size, maxBin, nbBins,
 * channels, layers, bidirectionality) is inferred from the shapes of the first file; every file is
 * then checked tensor by tensor against umxParameters(config).
 */
export function importUmxStateDicts(
  files: readonly {
    readonly source: string;
    readonly target: StemName;
    readonly tensors: Map<string, PthTensor>;
  }[],
  options: PthImportOptions = {},
): PthImportResult {
  if (files.length === 0) throw new Error('import: no .pth files');
  const config = inferConfig(
    files[0].source,
    files[0].tensors,
    files.map((f) => f.target),
    options,
  );
  const specs = umxParameters(config);
  const targets: Partial<Record<StemName, UmxTargetWeights>> = {};
  const ignored = new Map<string, string[]>();
  for (const { source, target, tensors } of files) {
    const tw: UmxTargetWeights = {};
    for (const spec of specs) {
      const t = tensors.get(spec.name);
      if (!t) throw new Error(`${source}: missing "${spec.name}" (expected shape [${spec.shape}])`);
      if (!sameShape(t.shape, spec.shape)) {
        throw new Error(
          `${source}: "${spec.name}" has shape [${t.shape}], expected [${spec.shape}] ` +
            `(config inferred from ${files[0].source}: hidden ${config.hiddenSize}, maxBin ${config.maxBin}, ` +
            `nbBins ${config.nbBins}, ${config.nbLayers} layers, ${config.bidirectional ? 'bi' : 'uni'}directional)`,
        );
      }
      if (!t.dtype.startsWith('float') && t.dtype !== 'bfloat16') {
        throw new Error(`${source}: "${spec.name}" is ${t.dtype}, expected floating point`);
      }
      const values = t.values();
      if (values.length !== parameterSize(spec)) throw new Error(`${source}: "${spec.name}" size mismatch`);
      tw[spec.name] = values;
    }
    const known = new Set(specs.map((s) => s.name));
    const skipped: string[] = [];
    for (const key of tensors.keys()) {
      if (known.has(key)) continue;
      if (!IGNORED_KEY.test(key)) {
        throw new Error(`${source}: unexpected key "${key}" (not an Open-Unmix parameter for this config)`);
      }
      skipped.push(key);
    }
    ignored.set(source, skipped);
    if (targets[target]) throw new Error(`${source}: target "${target}" given twice`);
    targets[target] = tw;
  }
  return { weights: { config, targets }, ignored };
}

/** Reads `paths` (one .pth per target, in the order of `targets`). */
export async function importUmxPth(
  paths: readonly string[],
  targets: readonly StemName[],
  options: PthImportOptions = {},
): Promise<PthImportResult> {
  if (paths.length !== targets.length) {
    throw new Error(
      `import: ${paths.length} .pth file(s) for ${targets.length} target(s) (${targets.join(', ')})`,
    );
  }
  const files = [];
  for (let i = 0; i < paths.length; i++) {
    const tensors = readPth(new Uint8Array(await readFile(paths[i])), paths[i]);
    files.push({ source: paths[i], target: targets[i], tensors });
  }
  return importUmxStateDicts(files, options);
}

function inferConfig(
  source: string,
  tensors: Map<string, PthTensor>,
  targets: StemName[],
  options: PthImportOptions,
): UmxConfig {
  const shape = (key: string, rank: number): readonly number[] => {
    const t = tensors.get(key);
    if (!t) throw new Error(`${source}: missing "${key}" (needed to infer the model size)`);
    if (t.shape.length !== rank)
      throw new Error(`${source}: "${key}" has shape [${t.shape}], expected rank ${rank}`);
    return t.shape;
  };
  const [maxBin] = shape('input_mean', 1);
  const [nbBins] = shape('output_mean', 1);
  const [hiddenSize, fcIn] = shape('fc1.weight', 2);
  const [, perDirection] = shape('lstm.weight_hh_l0', 2);
  const bidirectional = tensors.has('lstm.weight_hh_l0_reverse');
  let nbLayers = 0;
  while (tensors.has(`lstm.weight_ih_l${nbLayers}`)) nbLayers++;
  if (fcIn % maxBin !== 0) {
    throw new Error(`${source}: "fc1.weight" has ${fcIn} inputs, not a multiple of maxBin ${maxBin}`);
  }
  if (perDirection * (bidirectional ? 2 : 1) !== hiddenSize) {
    throw new Error(
      `${source}: "lstm.weight_hh_l0" has ${perDirection} units per direction, but fc1 has hidden size ${hiddenSize}`,
    );
  }
  const nFft = 2 * (nbBins - 1);
  try {
    return umxConfig({
      targets,
      nFft,
      maxBin,
      hiddenSize,
      nbLayers,
      bidirectional,
      nbChannels: fcIn / maxBin,
      sampleRate: options.sampleRate ?? 44100,
    });
  } catch (err) {
    throw new Error(`${source}: inferred an invalid config (${(err as Error).message})`);
  }
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}
