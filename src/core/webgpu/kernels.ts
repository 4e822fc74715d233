/**
 * WGSL sources of the WebGPU engine (see engine.ts): three kernels, specialised by string templates.
 *
 * - `featuresShader`: mixture magnitudes [C][bins][T] → fc1 input rows [T][C·nIn] (crop to maxBin, or
 *   average into bands).
 * - `matmulShader`: batched C[z] = act(A[z] · B[z] + bias[z]) with strided A and C, so the dense layers
 *   read and write slices of shared buffers (the skip concat is two column ranges of one buffer). The
 *   'mask' epilogue is fc3's: ReLU, × mixture, written transposed to the model's [C][bins][T] output.
 * - `lstmShader`: one LSTM direction over many time steps in ONE dispatch: one workgroup per
 *   (direction, target), one invocation per gate row (4·hd rows, up to 256 invocations), the hidden
 *   state and gates in workgroup memory, two barriers per step. W_hh rows live in private memory
 *   (registers) when hd ≤ `PRIVATE_WEIGHTS_MAX_HD`, else are read from a storage buffer laid out so that
 *   neighbouring invocations read neighbouring words. The input projections (x·W_ihᵀ + biases) for all
 *   frames come precomputed from one matmul dispatch.
 */

/** Rows of W_hh held in private memory (registers) up to this many units per direction. */
export const PRIVATE_WEIGHTS_MAX_HD = 64;

/** Invocations per workgroup of the recurrent kernel (WebGPU's guaranteed minimum limit is 256). */
export const LSTM_MAX_THREADS = 256;

/** Uniform block shared by every kernel: 16 u32 fields (64 bytes), meaning per kernel. */
export const PARAM_WORDS = 16;

const header = /* wgsl */ `
struct Params {
  p0: u32, p1: u32, p2: u32, p3: u32, p4: u32, p5: u32, p6: u32, p7: u32,
  p8: u32, p9: u32, p10: u32, p11: u32, p12: u32, p13: u32, p14: u32, p15: u32,
}
@group(0) @binding(0) var<uniform> prm: Params;
`;

/**
 * Matmul blocking: a workgroup of wg invocations (64, or 32 for narrow outputs) computes MATMUL_ROWS
 * rows × (wg · cols) columns; invocation i owns columns i, i + wg, …, and the rows come from the workgroup id, so
 * A's loads are the same address across the workgroup (a broadcast on a GPU). Both operands are read
 * as vec4 along k (A [M][K] rows, B as [N][K], the PyTorch Linear layout): on lavapipe the storage
 * loads, not the arithmetic, set the pace (the same loop without loads ran 5× faster; time tracked
 * the number of load instructions per FMA: 8 rows × 4 columns beat 16 × 2 by 1.5–2× and 32 × 1 by 3×;
 * staging A in workgroup memory was slower), so 4 values per load matter most. K and all strides and
 * offsets along k are multiples of 4 (weights.ts pads with zeros). Fully unrolled with scalar
 * accumulators, so no compiler has to promote private arrays to registers.
 */
export const MATMUL_WG = 64;
export const MATMUL_ROWS = 8;

/**
 * The subgroup kernels broadcast one lane's load to the others (lanes 0…7), so they need subgroups of
 * at least this many lanes; lavapipe's are 8 (one AVX2 register), real GPUs' 16–64.
 */
export const SUBGROUP_MIN_LANES = 8;

/**
 * Blocking of an N-column product: invocations per workgroup and columns per invocation — 4 columns
 * wherever N allows (fewer loads per FMA), a 32-wide workgroup for narrow outputs such as hidden 128.
 */
export function matmulBlocking(n: number, subgroups = false): { wg: number; cols: number; rows: number } {
  const wg = n >= 4 * MATMUL_WG ? MATMUL_WG : 32;
  const cols = n >= 4 * wg ? 4 : n >= 2 * wg ? 2 : 1;
  return { wg, cols, rows: subgroups ? MATMUL_ROWS_SUBGROUPS : MATMUL_ROWS };
}

/**
 * Rows per workgroup of the subgroup variant: two broadcast loads of A per k step feed 16 rows × 4
 * columns (64 accumulators, which spill on lavapipe but cost less than the loads they save: the dense
 * kernels at hidden 512 took 15–25 % less than with 8 rows, A/B on an idle box).
 */
export const MATMUL_ROWS_SUBGROUPS = 16;

/** `n` lines made by `line(i)`, i = 0 … n − 1 (for unrolled WGSL). */
function lines(n: number, line: (i: number) => string): string {
  return Array.from({ length: n }, (_, i) => line(i)).join('\n');
}

export type MatmulEpilogue = 'none' | 'tanh' | 'relu' | 'mask';

/** Both matmul kernels' bindings: A, B, bias, C and, for the mask epilogue, the mixture. */
function matmulBindings(subgroups: boolean, mask: boolean): string {
  return `${subgroups ? 'enable subgroups;' : ''}
${header}
@group(0) @binding(1) var<storage, read> a: array<vec4f>;
@group(0) @binding(2) var<storage, read> b: array<vec4f>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> c: array<f32>;
${mask ? '@group(0) @binding(5) var<storage, read> mixture: array<f32>;' : ''}`;
}

/**
 * The k-step loads of `n` vec4s `${v}0…` from buffer `v`: each at its own base address `${base}i`, or
 * with subgroups n / L loads at `${base}l${g}` (lane l's operand g·L + l) broadcast to all lanes.
 */
function operandLoads(v: 'a' | 'b', base: string, n: number, subgroups: boolean): string {
  const L = SUBGROUP_MIN_LANES;
  if (!subgroups) return lines(n, (i) => `    let ${v}${i} = ${v}[${base}${i} + k];`);
  return `${lines(n / L, (g) => `    let ${v}l${g} = ${v}[${base}l${g} + k];`)}
${lines(n, (i) => `    let ${v}${i} = subgroupBroadcast(${v}l${Math.floor(i / L)}, ${i % L}u);`)}`;
}

/**
 * Params: p0 M, p1 N, p2 K, p3 lda, p4 aOff, p5 aZ, p6 ldb, p7 bZ, p8 biasZ, p9 ldc, p10 cOff, p11 cZ
 * (in floats; K, lda, aOff, aZ, ldb, bZ multiples of 4).
 * A[z][m][k] = a[aOff + z·aZ + m·lda + k]; B[z][k][n] = b[z·bZ + n·ldb + k]; bias[z][n] = bias[z·biasZ + n];
 * C[z][m][n] = c[cOff + z·cZ + m·ldc + n], except 'mask': c[z·cZ + n·M + m] = max(0, ·)·mix[n·M + m].
 * Workgroups: (⌈N / (wg · cols)⌉, ⌈M / rows⌉, Z), per matmulBlocking(N, subgroups).
 */
export function matmulShader(
  epilogue: MatmulEpilogue,
  { wg: WG, cols, rows }: { wg: number; cols: number; rows: number },
  subgroups = false,
): string {
  const R = rows;
  const L = SUBGROUP_MIN_LANES;
  const CC = cols;
  const act = epilogue === 'tanh' ? 'tanh(clamp(v, -15.0, 15.0))' : epilogue === 'none' ? 'v' : 'max(v, 0.0)';
  const store =
    epilogue === 'mask'
      ? 'let o = n * M + m; c[z * prm.p11 + o] = max(v, 0.0) * mixture[o];'
      : `c[prm.p10 + z * prm.p11 + m * prm.p9 + n] = ${act};`;
  // With subgroups (of at least L = SUBGROUP_MIN_LANES lanes), lane l loads rows m0 + l, m0 + L + l, …
  // and every row is broadcast: R / L loads of A per k step instead of R.
  const rowLoads = operandLoads('a', 'ar', R, subgroups);
  return /* wgsl */ `${matmulBindings(subgroups, epilogue === 'mask')}

@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) lid: u32${subgroups ? ', @builtin(subgroup_invocation_id) sl: u32' : ''}) {
  let M = prm.p0;
  let N = prm.p1;
  let K4 = prm.p2 / 4u;
  let z = wg.z;
  let m0 = wg.y * ${R}u;
  let nb = wg.x * ${WG * CC}u + lid;
  // Rows past M read row M − 1 and are not stored; columns past N read column N − 1.
  let abase = (prm.p4 + z * prm.p5) / 4u;
${
  subgroups
    ? lines(
        R / L,
        (g) => `  let arl${g} = abase + min(m0 + ${g * L}u + (sl % ${L}u), M - 1u) * (prm.p3 / 4u);`,
      )
    : lines(R, (i) => `  let ar${i} = abase + min(m0 + ${i}u, M - 1u) * (prm.p3 / 4u);`)
}
${lines(CC, (q) => `  let bc${q} = (z * prm.p7 + min(nb + ${q * WG}u, N - 1u) * prm.p6) / 4u;`)}
${lines(R * CC, (x) => `  var acc${x} = 0.0;`)}
  for (var k = 0u; k < K4; k++) {
${lines(CC, (q) => `    let b${q} = b[bc${q} + k];`)}
${rowLoads}
${lines(R, (i) => lines(CC, (q) => `    acc${i * CC + q} += dot(a${i}, b${q});`))}
  }
${lines(
  CC,
  (q) => `  { let n = nb + ${q * WG}u;
    if (n < N) {
      let bn = bias[z * prm.p8 + n];
${lines(R, (i) => `      if (m0 + ${i}u < M) { let m = m0 + ${i}u; let v = acc${i * CC + q} + bn; ${store} }`)}
    }
  }`,
)}
}
`;
}

/**
 * fc3's product with the lanes along m (frames) instead: the transposed, masked output
 * c[z·cZ + n·M + m] and the mixture it multiplies are then contiguous across lanes (a gather and a
 * scatter per output otherwise). Invocation i owns rows i, i + MATMUL_WG, … (MASK_ROWS of them); the
 * workgroup's maskCols(subgroups) columns come from its id. Same params as matmulShader('mask').
 * Workgroups: (⌈N / maskCols(subgroups)⌉, ⌈M / (MATMUL_WG · MASK_ROWS)⌉, Z).
 */
export const MASK_ROWS = 4;
export const MASK_COLS = 8;
/** Columns per workgroup of fc3's subgroup variant: two broadcast loads of B feed 16 (hidden 512: 55 vs 76 ms). */
export const MASK_COLS_SUBGROUPS = 16;
export function maskCols(subgroups: boolean): number {
  return subgroups ? MASK_COLS_SUBGROUPS : MASK_COLS;
}
export function maskMatmulShader(subgroups = false): string {
  const R = MASK_ROWS;
  const CC = maskCols(subgroups);
  const L = SUBGROUP_MIN_LANES;
  // With subgroups, lane l loads columns n0 + l, n0 + L + l, … and broadcasts them: CC / L loads of B
  // per k step instead of CC.
  const colLoads = operandLoads('b', 'bc', CC, subgroups);
  return /* wgsl */ `${matmulBindings(subgroups, true)}

@compute @workgroup_size(${MATMUL_WG})
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) lid: u32${subgroups ? ', @builtin(subgroup_invocation_id) sl: u32' : ''}) {
  let M = prm.p0;
  let N = prm.p1;
  let K4 = prm.p2 / 4u;
  let z = wg.z;
  let mb = wg.y * ${MATMUL_WG * R}u + lid;
  let n0 = wg.x * ${CC}u;
  let abase = (prm.p4 + z * prm.p5) / 4u;
${lines(R, (i) => `  let ar${i} = abase + min(mb + ${i * MATMUL_WG}u, M - 1u) * (prm.p3 / 4u);`)}
${
  subgroups
    ? lines(
        CC / L,
        (g) => `  let bcl${g} = (z * prm.p7 + min(n0 + ${g * L}u + (sl % ${L}u), N - 1u) * prm.p6) / 4u;`,
      )
    : lines(CC, (q) => `  let bc${q} = (z * prm.p7 + min(n0 + ${q}u, N - 1u) * prm.p6) / 4u;`)
}
${lines(R * CC, (x) => `  var acc${x} = 0.0;`)}
  for (var k = 0u; k < K4; k++) {
${colLoads}
${lines(R, (i) => `    let a${i} = a[ar${i} + k];\n${lines(CC, (q) => `    acc${i * CC + q} += dot(a${i}, b${q});`)}`)}
  }
${lines(
  CC,
  (q) => `  { let n = n0 + ${q}u;
    if (n < N) {
      let bn = bias[z * prm.p8 + n];
${lines(R, (i) => `      if (mb + ${i * MATMUL_WG}u < M) { let o = n * M + mb + ${i * MATMUL_WG}u; c[z * prm.p11 + o] = max(acc${i * CC + q} + bn, 0.0) * mixture[o]; }`)}
    }
  }`,
)}
}
`;
}

/**
 * Params: p0 T, p1 C, p2 bins, p3 nIn, p4 row stride of x (≥ C·nIn). Output x[t·stride + c·nIn + f]. Linear: mix[c][f][t];
 * bands: the mean of mix[c][k][t] over k in [edges[f], edges[f+1]). Workgroups: (⌈T / FEATURES_WG⌉, nIn, C).
 */
export const FEATURES_WG = 64;
export function featuresShader(bands: boolean): string {
  const value = bands
    ? `let lo = edges[f];
    let hi = edges[f + 1u];
    var s = 0.0;
    for (var k = lo; k < hi; k++) { s += mixture[(ch * prm.p2 + k) * T + t]; }
    let v = s / f32(hi - lo);`
    : 'let v = mixture[(ch * prm.p2 + f) * T + t];';
  return /* wgsl */ `${header}
@group(0) @binding(1) var<storage, read> mixture: array<f32>;
@group(0) @binding(2) var<storage, read_write> x: array<f32>;
${bands ? '@group(0) @binding(3) var<storage, read> edges: array<u32>;' : ''}

@compute @workgroup_size(${FEATURES_WG})
fn main(@builtin(global_invocation_id) gid: vec3u) {
  // One invocation per (t, f, ch) straight from the grid: no integer division (scalarised on CPUs);
  // neighbouring invocations read neighbouring frames.
  let T = prm.p0;
  let F = prm.p3;
  let t = gid.x;
  let f = gid.y;
  let ch = gid.z;
  if (t >= T) { return; }
  ${value}
  x[t * prm.p4 + ch * F + f] = v;
}
`;
}

export interface LstmKernelShape {
  /** Units per direction. */
  readonly hd: number;
  /** Directions (1 or 2). */
  readonly dirs: number;
  /**
   * W_hh as float16 pairs packed in u32 (8 weights per vec4<u32> load), for the storage-buffer path
   * only; the engine uses it where every W_hh value is exactly a float16 (fp16-stored models), so it
   * changes no number.
   */
  readonly packedF16?: boolean;
  /**
   * Hidden-state reads through subgroups (one workgroup-memory load per lane per 8 vec4s, then
   * `subgroupBroadcast`): the one-invocation-per-unit kernel only, where hd and the vec4s per row are
   * multiples of SUBGROUP_MIN_LANES.
   */
  readonly subgroups?: boolean;
}

/** Whether the recurrent kernel reads W_hh from a storage buffer every step (hd too large for registers). */
export function lstmStorageWeights(hd: number): boolean {
  return hd > PRIVATE_WEIGHTS_MAX_HD;
}

/** Whether the one-invocation-per-unit kernel can read the hidden state through subgroups. */
export function lstmSubgroups(hd: number, packed: boolean): boolean {
  return (
    hd <= LSTM_MAX_THREADS &&
    hd % SUBGROUP_MIN_LANES === 0 &&
    whhRowVec4s(hd, packed) % SUBGROUP_MIN_LANES === 0
  );
}

/** vec4s per padded W_hh row (f32), or twice the vec4<u32>s (8 halves each) of a row padded to ⌈hd⌉₈ (f16). */
function whhRowVec4s(hd: number, packed: boolean): number {
  return packed ? 2 * Math.ceil(hd / 8) : Math.ceil(hd / 4);
}

/** W_hh row · hidden state for one vec4<u32> `p` of packed float16 weights against hidden vec4s hv0, hv1. */
function packedDot(p: string, hv0: string, hv1: string): string {
  return `dot(vec4f(unpack2x16float(${p}.x), unpack2x16float(${p}.y)), ${hv0}) + dot(vec4f(unpack2x16float(${p}.z), unpack2x16float(${p}.w)), ${hv1})`;
}

/** Bindings, sizes and sigmoid of both recurrent kernels (`hs`: the hidden state's workgroup array). */
function lstmPreamble(hd: number, dirs: number, packed: boolean, hs: string): string {
  return `${header}
@group(0) @binding(1) var<storage, read> g: array<f32>;
@group(0) @binding(2) var<storage, read> whh: array<${packed ? 'vec4u' : 'vec4f'}>;
@group(0) @binding(3) var<storage, read_write> hout: array<f32>;
@group(0) @binding(4) var<storage, read_write> state: array<f32>;

const HD = ${hd}u;
const G4 = ${4 * hd}u;
const D = ${dirs}u;
var<workgroup> hs: ${hs};

fn sigmoid(v: f32) -> f32 { return 1.0 / (1.0 + exp(-v)); }`;
}

/**
 * One LSTM layer, all directions and targets, steps [s0, s0 + steps) of T (reverse directions walk
 * t = T − 1 − step). Workgroup (d, j). Params: p0 T, p1 s0, p2 steps, p3 first (zero state),
 * p4 gZ (per-target stride of g), p5 outStride, p6 outOff, p7 outZ.
 * g[j][t][d·4hd + r]: x·W_ihᵀ + b_ih + b_hh, PyTorch gate order (i, f, g, o).
 * whh[j][d][r][0 … hd4): W_hh row r zero-padded to hd4 = ⌈hd⌉₄, read as vec4.
 * state[j][d][0 | 1][u]: h and c between dispatches.
 * Output h[j][t][d·hd + u] at out[j·outZ + t·outStride + outOff + d·hd + u].
 * Up to LSTM_MAX_THREADS units per direction this is lstmUnitShader (one invocation per unit); beyond
 * that, this gate-row kernel: each invocation computes gate rows tid, tid + threads, … from W_hh in
 * the storage buffer, the gates meet in workgroup memory, two barriers per step. The hidden state
 * lives in workgroup memory as vec4s, so a gate row's dot product is hd4 / 4 vec4 loads (on lavapipe
 * loads, not arithmetic, set the pace).
 */
export function lstmShader({
  hd,
  dirs,
  packedF16: packed = false,
  subgroups = false,
}: LstmKernelShape): string {
  const weights = !lstmStorageWeights(hd) ? 'private' : packed ? 'storage-f16' : 'storage-f32';
  const sg = subgroups && lstmSubgroups(hd, weights === 'storage-f16');
  if (hd <= LSTM_MAX_THREADS) return lstmUnitShader(hd, dirs, weights, sg);
  const g4 = 4 * hd;
  // hd > LSTM_MAX_THREADS here: a full workgroup, several gate rows and units per invocation.
  const nt = LSTM_MAX_THREADS;
  const rows = Math.ceil(g4 / nt);
  const units = Math.ceil(hd / nt);
  const q4 = whhRowVec4s(hd, packed);
  const q8 = q4 / 2;
  // The invocation's rows side by side, so each vec4 of the hidden state is loaded once for all.
  const rowLoop = `${lines(rows, (q) => `      let r${q} = min(tid + ${q * nt}u, G4 - 1u);\n      var acc${q} = g[gb + r${q}];`)}
${
  packed
    ? `      for (var i = 0u; i < ${q8}u; i++) {
        let hv0 = hs[2u * i];
        let hv1 = hs[2u * i + 1u];
${lines(rows, (q) => `        { let p = whh[wb / 2u + r${q} * ${q8}u + i];\n          acc${q} += ${packedDot('p', 'hv0', 'hv1')}; }`)}
      }`
    : `      for (var i = 0u; i < ${q4}u; i++) {
        let hv = hs[i];
${lines(rows, (q) => `        acc${q} += dot(whh[wb + r${q} * ${q4}u + i], hv);`)}
      }`
}
${lines(rows, (q) => `      if (tid + ${q * nt}u < G4) { activate(r${q}, acc${q}); }`)}`;
  return /* wgsl */ `${lstmPreamble(hd, dirs, packed, `array<vec4f, ${q4}>`)}
var<workgroup> gates: array<f32, ${g4}>;

// Gate r / HD: 0 input, 1 forget, 2 cell candidate (tanh), 3 output.
fn activate(r: u32, v: f32) {
  if (r / HD == 2u) { gates[r] = tanh(clamp(v, -15.0, 15.0)); } else { gates[r] = sigmoid(v); }
}

@compute @workgroup_size(${nt})
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) tid: u32) {
  let d = wg.x;
  let j = wg.y;
  let T = prm.p0;
  let wb = (j * D + d) * G4 * ${q4}u;
  let sb = (j * D + d) * 2u * HD;
  // Units tid, tid + ${nt}, …: each invocation keeps the cell states of its ${units} unit(s).
  var cs: array<f32, ${units}>;
  for (var i = tid; i < ${q4}u; i += ${nt}u) { hs[i] = vec4f(0.0); }
  workgroupBarrier();
  for (var q = 0u; q < ${units}u; q++) {
    let u = tid + q * ${nt}u;
    if (u < HD && prm.p3 == 0u) {
      hs[u / 4u][u % 4u] = state[sb + u];
      cs[q] = state[sb + HD + u];
    }
  }
  workgroupBarrier();
  for (var s = 0u; s < prm.p2; s++) {
    let step = prm.p1 + s;
    let t = select(step, T - 1u - step, d == 1u);
    let gb = j * prm.p4 + t * (D * G4) + d * G4;
${rowLoop}
    workgroupBarrier();
    for (var q = 0u; q < ${units}u; q++) {
      let u = tid + q * ${nt}u;
      if (u < HD) {
        cs[q] = gates[HD + u] * cs[q] + gates[u] * gates[2u * HD + u];
        let h = gates[3u * HD + u] * tanh(clamp(cs[q], -15.0, 15.0));
        hs[u / 4u][u % 4u] = h;
        hout[j * prm.p7 + t * prm.p5 + prm.p6 + d * HD + u] = h;
      }
    }
    workgroupBarrier();
  }
  for (var q = 0u; q < ${units}u; q++) {
    let u = tid + q * ${nt}u;
    if (u < HD) {
      state[sb + u] = hs[u / 4u][u % 4u];
      state[sb + HD + u] = cs[q];
    }
  }
}
`;
}

/**
 * The recurrence with one invocation per unit (hd ≤ LSTM_MAX_THREADS): each invocation computes its
 * unit's four gates (W_hh rows u, HD + u, 2·HD + u, 3·HD + u), its c and its h itself, so no gates
 * are exchanged through workgroup memory, and the hidden state is double buffered: one barrier per
 * step instead of two. (On lavapipe a barrier switches between all of the workgroup's SIMD groups.)
 * W_hh: the four rows in private memory, fully unrolled, for hd ≤ PRIVATE_WEIGHTS_MAX_HD; else read
 * from the storage buffer every step, as float32 vec4s or packed float16 (8 per vec4<u32>), each
 * hidden-state vec4 loaded once for the four rows. Same bindings, params and W_hh layout as the
 * gate-row kernel in lstmShader.
 */
function lstmUnitShader(
  hd: number,
  dirs: number,
  weights: 'private' | 'storage-f32' | 'storage-f16',
  subgroups: boolean,
): string {
  const packed = weights === 'storage-f16';
  const q4 = whhRowVec4s(hd, packed);
  const L = SUBGROUP_MIN_LANES;
  const row = (k: number) => `(${k}u * HD + u) * ${packed ? q4 / 2 : q4}u`;
  const gates4 = (f: (k: number) => string) => lines(4, (k) => f(k)).replace(/\n/g, '');
  let body: string;
  let setup = '';
  if (weights === 'private') {
    setup = lines(4, (k) => lines(q4, (i) => `  let w${k}_${i} = whh[wb + ${row(k)} + ${i}u];`));
    // With subgroups, lane l loads vec4s l, L + l, … and hidden vec4 i is broadcast from lane i mod L.
    const hv = (i: number) =>
      subgroups ? `subgroupBroadcast(hl${Math.floor(i / L)}, ${i % L}u)` : `hs[cur][${i}]`;
    body = `${subgroups ? lines(q4 / L, (b) => `    let hl${b} = hs[cur][${b * L}u + sl % ${L}u];`) : ''}
${lines(q4, (i) => `    { let hv = ${hv(i)};${gates4((k) => ` a${k} += dot(w${k}_${i}, hv);`)} }`)}`;
  } else if (subgroups) {
    // Per block of L hidden vec4s: one load per lane, then L broadcasts.
    const inner = packed
      ? lines(
          L / 2,
          (
            m,
          ) => `      { let hv0 = subgroupBroadcast(hl, ${2 * m}u); let hv1 = subgroupBroadcast(hl, ${2 * m + 1}u);
${lines(4, (k) => `        { let p = whh[wb / 2u + ${row(k)} + ${L / 2}u * b + ${m}u]; a${k} += ${packedDot('p', 'hv0', 'hv1')}; }`)}
      }`,
        )
      : lines(
          L,
          (m) =>
            `      { let hv = subgroupBroadcast(hl, ${m}u);${gates4((k) => ` a${k} += dot(whh[wb + ${row(k)} + ${L}u * b + ${m}u], hv);`)} }`,
        );
    body = `    for (var b = 0u; b < ${q4 / L}u; b++) {
      let hl = hs[cur][${L}u * b + sl % ${L}u];
${inner}
    }`;
  } else if (!packed) {
    body = `    for (var i = 0u; i < ${q4}u; i++) {
      let hv = hs[cur][i];
${lines(4, (k) => `      a${k} += dot(whh[wb + ${row(k)} + i], hv);`)}
    }`;
  } else {
    body = `    for (var i = 0u; i < ${q4 / 2}u; i++) {
      let hv0 = hs[cur][2u * i];
      let hv1 = hs[cur][2u * i + 1u];
${lines(
  4,
  (k) => `      { let p = whh[wb / 2u + ${row(k)} + i];
        a${k} += ${packedDot('p', 'hv0', 'hv1')}; }`,
)}
    }`;
  }
  return /* wgsl */ `${subgroups ? 'enable subgroups;\n' : ''}${lstmPreamble(hd, dirs, packed, `array<array<vec4f, ${q4}>, 2>`)}

@compute @workgroup_size(${hd})
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) u: u32${subgroups ? ', @builtin(subgroup_invocation_id) sl: u32' : ''}) {
  let d = wg.x;
  let j = wg.y;
  let T = prm.p0;
  let wb = (j * D + d) * G4 * ${q4}u;
${setup}
  let sb = (j * D + d) * 2u * HD;
  for (var i = u; i < ${q4}u; i += HD) { hs[0][i] = vec4f(0.0); hs[1][i] = vec4f(0.0); }
  workgroupBarrier();
  var cs = 0.0;
  if (prm.p3 == 0u) {
    hs[0][u / 4u][u % 4u] = state[sb + u];
    cs = state[sb + HD + u];
  }
  workgroupBarrier();
  for (var s = 0u; s < prm.p2; s++) {
    let step = prm.p1 + s;
    let t = select(step, T - 1u - step, d == 1u);
    let gb = j * prm.p4 + t * (D * G4) + d * G4;
    let cur = s % 2u;
${lines(4, (k) => `    var a${k} = g[gb + ${k}u * HD + u];`)}
${body}
    cs = sigmoid(a1) * cs + sigmoid(a0) * tanh(clamp(a2, -15.0, 15.0));
    let h = sigmoid(a3) * tanh(clamp(cs, -15.0, 15.0));
    hs[1u - cur][u / 4u][u % 4u] = h;
    hout[j * prm.p7 + t * prm.p5 + prm.p6 + d * HD + u] = h;
    workgroupBarrier();
  }
  // The last step wrote hs[steps % 2] (with no steps, that is the loaded or zero state).
  state[sb + u] = hs[prm.p2 % 2u][u / 4u][u % 4u];
  state[sb + HD + u] = cs;
}
`;
}
