/**
 * Faster Slice / SplitV / Unpack (and Reverse along axis 0) for tfjs-backend-wasm 4.22. Its kernels read the whole input with
 * readSync, which copies the tensor out of wasm memory, for every slice: unstacking a [T, …] tensor
 * into T steps costs O(T²) copying (measured: 27 Unpack calls took 2.4 s of a 4.5 s training step at
 * hidden 128). These versions copy only the sliced values, from a view of wasm memory. Its Reverse
 * indexes element by element (13 ms for 1 M values); reversing the leading (time) axis is block copies.
 * float32 only; other dtypes and other reverse axes go to the original kernels.
 */
import * as tf from '@tensorflow/tfjs-core';

interface WasmBackend {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(t: tf.TensorInfo): Float32Array;
}

function sliceView(backend: WasmBackend, x: tf.TensorInfo, begin: number[], size: number[]): tf.TensorInfo {
  // makeOutput may grow wasm memory, which detaches earlier views: take the views after it.
  const out = backend.makeOutput(size, x.dtype);
  const src = backend.typedArrayFromHeap(x);
  const dst = backend.typedArrayFromHeap(out);
  const rank = x.shape.length;
  const strides = tf.util.computeStrides(x.shape);
  const row = size[rank - 1];
  const rows = tf.util.sizeFromShape(size) / Math.max(row, 1);
  if (rows === 0 || row === 0) return out;
  // Walk every output row (all but the last axis) with an odometer over the sliced index ranges.
  const idx = new Array<number>(Math.max(rank - 1, 0)).fill(0);
  for (let r = 0; r < rows; r++) {
    let off = begin[rank - 1];
    for (let a = 0; a < rank - 1; a++) off += (begin[a] + idx[a]) * strides[a];
    dst.set(src.subarray(off, off + row), r * row);
    for (let a = rank - 2; a >= 0; a--) {
      if (++idx[a] < size[a]) break;
      idx[a] = 0;
    }
  }
  return out;
}

let patched = false;

/** Replaces the wasm backend's Slice, SplitV and Unpack kernels (idempotent). */
export function patchWasmSlicing(): void {
  if (patched) return;
  patched = true;
  let originalReverse: ((args: never) => tf.TensorInfo) | null = null;
  const replace = (
    name: string,
    fast: (args: {
      inputs: tf.NamedTensorInfoMap;
      attrs: tf.NamedAttrMap;
      backend: WasmBackend;
    }) => tf.TensorInfo | tf.TensorInfo[],
  ) => {
    const original = tf.getKernel(name, 'wasm');
    if (!original) throw new Error(`wasm backend has no ${name} kernel`);
    if (name === tf.Reverse)
      originalReverse = original.kernelFunc as unknown as (args: never) => tf.TensorInfo;
    tf.unregisterKernel(name, 'wasm');
    tf.registerKernel({
      ...original,
      kernelFunc: (args) => {
        const x = Object.values(args.inputs)[0] as tf.TensorInfo;
        return x.dtype === 'float32'
          ? fast(args as unknown as Parameters<typeof fast>[0])
          : original.kernelFunc(args);
      },
    });
  };

  replace(tf.Reverse, (args) => {
    const { inputs, attrs, backend } = args;
    const x = inputs.x as tf.TensorInfo;
    const axes = tf.util.parseAxisParam(attrs.dims as number[], x.shape);
    if (axes.length !== 1 || axes[0] !== 0 || x.shape.length === 0) return originalReverse!(args as never);
    const out = backend.makeOutput(x.shape, x.dtype);
    const src = backend.typedArrayFromHeap(x);
    const dst = backend.typedArrayFromHeap(out);
    const n = x.shape[0];
    const block = src.length / Math.max(n, 1);
    for (let i = 0; i < n; i++) dst.set(src.subarray(i * block, (i + 1) * block), (n - 1 - i) * block);
    return out;
  });
  replace(tf.Slice, ({ inputs, attrs, backend }) => {
    const x = inputs.x as tf.TensorInfo;
    const [begin, size] = tf.slice_util.parseSliceParams(
      x as tf.Tensor,
      attrs.begin as number[],
      attrs.size as number[],
    );
    return sliceView(backend, x, begin, size);
  });
  replace(tf.SplitV, ({ inputs, attrs, backend }) => {
    const x = inputs.x as tf.TensorInfo;
    const axis = tf.util.parseAxisParam(attrs.axis as number, x.shape)[0];
    const sizes = tf.backend_util.prepareSplitSize(
      x as tf.Tensor,
      attrs.numOrSizeSplits as number[] | number,
      axis,
    );
    const begin = new Array<number>(x.shape.length).fill(0);
    return sizes.map((s) => {
      const size = [...x.shape];
      size[axis] = s;
      const out = sliceView(backend, x, [...begin], size);
      begin[axis] += s;
      return out;
    });
  });
  replace(tf.Unpack, ({ inputs, attrs, backend }) => {
    const x = inputs.value as tf.TensorInfo;
    let axis = attrs.axis as number;
    if (axis < 0) axis += x.shape.length;
    const outShape = x.shape.filter((_, i) => i !== axis);
    const size = [...x.shape];
    size[axis] = 1;
    const begin = new Array<number>(x.shape.length).fill(0);
    return Array.from({ length: x.shape[axis] }, (_, i) => {
      begin[axis] = i;
      const out = sliceView(backend, x, begin, size);
      return { ...out, shape: outShape };
    });
  });
}
