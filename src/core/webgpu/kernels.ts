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

/** Matmul tile: each invocation computes TILE×TILE outputs; a workgroup 16×16 invocations. */
export const MATMUL_TILE = 4;
export const MATMUL_WG = 16;
/** Outputs per workgroup along each axis. */
export const MATMUL_BLOCK = MATMUL_TILE * MATMUL_WG;

export type MatmulEpilogue = 'none' | 'tanh' | 'relu' | 'mask';

/**
 * Params: p0 M, p1 N, p2 K, p3 lda, p4 aOff, p5 aZ, p6 ldb, p7 bZ, p8 biasZ, p9 ldc, p10 cOff, p11 cZ.
 * A[z][m][k] = a[aOff + z·aZ + m·lda + k]; B[z][k][n] = b[z·bZ + k·ldb + n]; bias[z][n] = bias[z·biasZ + n];
 * C[z][m][n] = c[cOff + z·cZ + m·ldc + n], except 'mask': c[z·cZ + n·M + m] = max(0, ·)·mix[n·M + m].
 */
export function matmulShader(epilogue: MatmulEpilogue): string {
  const T = MATMUL_TILE;
  const act = epilogue === 'tanh' ? 'tanh(clamp(v, -15.0, 15.0))' : epilogue === 'none' ? 'v' : 'max(v, 0.0)';
  const store =
    epilogue === 'mask'
      ? 'let o = n * M + m; c[z * prm.p11 + o] = max(v, 0.0) * mixture[o];'
      : `c[prm.p10 + z * prm.p11 + m * prm.p9 + n] = ${act};`;
  return /* wgsl */ `${header}
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> c: array<f32>;
${epilogue === 'mask' ? '@group(0) @binding(5) var<storage, read> mixture: array<f32>;' : ''}

@compute @workgroup_size(${MATMUL_WG}, ${MATMUL_WG}, 1)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let M = prm.p0;
  let N = prm.p1;
  let K = prm.p2;
  let n0 = gid.x * ${T}u;
  let m0 = gid.y * ${T}u;
  let z = gid.z;
  if (n0 >= N || m0 >= M) { return; }
  // Out-of-range rows/columns read a valid neighbour and are not stored.
  var ar: array<u32, ${T}>;
  var bc: array<u32, ${T}>;
  for (var i = 0u; i < ${T}u; i++) {
    ar[i] = prm.p4 + z * prm.p5 + min(m0 + i, M - 1u) * prm.p3;
    bc[i] = z * prm.p7 + min(n0 + i, N - 1u);
  }
  var acc: array<vec4f, ${T}>;
  for (var k = 0u; k < K; k++) {
    let bo = k * prm.p6;
    let bv = vec4f(b[bc[0] + bo], b[bc[1] + bo], b[bc[2] + bo], b[bc[3] + bo]);
    for (var i = 0u; i < ${T}u; i++) {
      acc[i] = fma(vec4f(a[ar[i] + k]), bv, acc[i]);
    }
  }
  for (var i = 0u; i < ${T}u; i++) {
    let m = m0 + i;
    if (m >= M) { break; }
    for (var jj = 0u; jj < ${T}u; jj++) {
      let n = n0 + jj;
      if (n >= N) { break; }
      let v = acc[i][jj] + bias[z * prm.p8 + n];
      ${store}
    }
  }
}
`;
}

/**
 * Params: p0 T, p1 C, p2 bins, p3 nIn. Output x[t][c·nIn + f]. Linear: mix[c][f][t];
 * bands: the mean of mix[c][k][t] over k in [edges[f], edges[f+1]).
 */
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

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let T = prm.p0;
  let F = prm.p3;
  let idx = gid.x + gid.y * nwg.x * 256u;
  if (idx >= T * prm.p1 * F) { return; }
  // idx = (ch·F + f)·T + t: neighbouring invocations read neighbouring frames.
  let t = idx % T;
  let f = (idx / T) % F;
  let ch = idx / (T * F);
  ${value}
  x[t * prm.p1 * F + ch * F + f] = v;
}
`;
}

export interface LstmKernelShape {
  /** Units per direction. */
  readonly hd: number;
  /** Directions (1 or 2). */
  readonly dirs: number;
}

/** Invocations per workgroup of the recurrent kernel for `hd` units. */
export function lstmThreads(hd: number): number {
  return Math.min(4 * hd, LSTM_MAX_THREADS);
}

/**
 * One LSTM layer, all directions and targets, steps [s0, s0 + steps) of T (reverse directions walk
 * t = T − 1 − step). Workgroup (d, j). Params: p0 T, p1 s0, p2 steps, p3 first (zero state),
 * p4 gZ (per-target stride of g), p5 outStride, p6 outOff, p7 outZ.
 * g[j][t][d·4hd + r]: x·W_ihᵀ + b_ih + b_hh, PyTorch gate order (i, f, g, o).
 * whh[j][d][i][r] = W_hh[r][i] (transposed). state[j][d][0 | 1][u]: h and c between dispatches.
 * Output h[j][t][d·hd + u] at out[j·outZ + t·outStride + outOff + d·hd + u].
 */
export function lstmShader({ hd, dirs }: LstmKernelShape): string {
  const g4 = 4 * hd;
  const nt = lstmThreads(hd);
  const rows = Math.ceil(g4 / nt);
  const privateWeights = hd <= PRIVATE_WEIGHTS_MAX_HD && rows === 1;
  const weightAt = privateWeights ? 'w[i]' : `whh[wb + i * ${g4}u + r]`;
  return /* wgsl */ `${header}
@group(0) @binding(1) var<storage, read> g: array<f32>;
@group(0) @binding(2) var<storage, read> whh: array<f32>;
@group(0) @binding(3) var<storage, read_write> hout: array<f32>;
@group(0) @binding(4) var<storage, read_write> state: array<f32>;

const HD = ${hd}u;
const G4 = ${g4}u;
const D = ${dirs}u;
var<workgroup> hs: array<f32, ${hd}>;
var<workgroup> gates: array<f32, ${g4}>;

fn sigmoid(v: f32) -> f32 { return 1.0 / (1.0 + exp(-v)); }

@compute @workgroup_size(${nt})
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) tid: u32) {
  let d = wg.x;
  let j = wg.y;
  let T = prm.p0;
  let wb = (j * D + d) * HD * G4;
  ${
    privateWeights
      ? `var w: array<f32, ${hd}>;
  if (tid < G4) { for (var i = 0u; i < HD; i++) { w[i] = whh[wb + i * G4 + tid]; } }`
      : ''
  }
  let sb = (j * D + d) * 2u * HD;
  var cs = 0.0;
  if (tid < HD) {
    if (prm.p3 != 0u) { hs[tid] = 0.0; } else { hs[tid] = state[sb + tid]; cs = state[sb + HD + tid]; }
  }
  workgroupBarrier();
  for (var s = 0u; s < prm.p2; s++) {
    let step = prm.p1 + s;
    let t = select(step, T - 1u - step, d == 1u);
    let gb = j * prm.p4 + t * (D * G4) + d * G4;
    for (var q = 0u; q < ${rows}u; q++) {
      let r = tid + q * ${nt}u;
      if (r < G4) {
        var acc = g[gb + r];
        for (var i = 0u; i < HD; i++) { acc = fma(${weightAt}, hs[i], acc); }
        // Gate r / HD: 0 input, 1 forget, 2 cell candidate (tanh), 3 output.
        if (r / HD == 2u) { gates[r] = tanh(clamp(acc, -15.0, 15.0)); } else { gates[r] = sigmoid(acc); }
      }
    }
    workgroupBarrier();
    if (tid < HD) {
      cs = gates[HD + tid] * cs + gates[tid] * gates[2u * HD + tid];
      let h = gates[3u * HD + tid] * tanh(clamp(cs, -15.0, 15.0));
      hs[tid] = h;
      hout[j * prm.p7 + t * prm.p5 + prm.p6 + d * HD + tid] = h;
    }
    workgroupBarrier();
  }
  if (tid < HD) {
    state[sb + tid] = hs[tid];
    state[sb + HD + tid] = cs;
  }
}
`;
}
