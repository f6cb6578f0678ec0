// One place that gets TF.js ready for the evaluation: the service's own backend choice and
// gradient registration (src/model: initBackend, tf.ts), plus one wasm kernel the baselines need.
import { tf } from '../model/tf.js';
import { initBackend } from '../model/backend.js';

export { tf };

let ready: Promise<string> | null = null;

/** Picks the backend as the service does (initBackend: native, wasm, cpu; gradients registered); returns its name. */
export function initEvalBackend(): Promise<string> {
  ready ??= (async () => {
    await initBackend();
    registerSegmentSum();
    return tf.getBackend();
  })();
  return ready;
}

/**
 * tf.gather's gradient is UnsortedSegmentSum, which the wasm backend does not implement. Register a
 * plain-JS kernel for it (row scatter-add), so gather works as a differentiable lookup on wasm too.
 */
function registerSegmentSum(): void {
  if (tf.getBackend() !== 'wasm' || tf.getKernel('UnsortedSegmentSum', 'wasm')) return;
  tf.registerKernel({
    kernelName: 'UnsortedSegmentSum',
    backendName: 'wasm',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { x, segmentIds } = inputs as { x: tf.TensorInfo; segmentIds: tf.TensorInfo };
      const numSegments = (attrs as { numSegments: number }).numSegments;
      type Wasm = {
        readSync(id: unknown): ArrayLike<number>;
        makeOutput(shape: number[], dtype: string): tf.TensorInfo;
        typedArrayFromHeap(t: tf.TensorInfo): Float32Array;
      };
      const b = backend as unknown as Wasm;
      const xv = b.readSync(x.dataId);
      const ids = b.readSync(segmentIds.dataId);
      const inner = x.shape.slice(segmentIds.shape.length).reduce((a, c) => a * c, 1);
      const out = b.makeOutput([numSegments, ...x.shape.slice(segmentIds.shape.length)], x.dtype);
      const ov = b.typedArrayFromHeap(out);
      ov.fill(0);
      for (let r = 0; r < ids.length; r++) {
        const s = ids[r]!;
        if (s < 0 || s >= numSegments) continue;
        const o = s * inner,
          xi = r * inner;
        // s < numSegments and r < ids.length: both rows lie inside out and x
        for (let j = 0; j < inner; j++) ov[o + j] = ov[o + j]! + xv[xi + j]!;
      }
      return out;
    },
  });
}

/** Differentiable row lookup (see registerSegmentSum). */
export function lookup(table: tf.Tensor2D, idx: tf.Tensor1D): tf.Tensor2D {
  return tf.gather(table, idx);
}
