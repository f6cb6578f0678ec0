// One place that gets TF.js ready for the evaluation: backend + gradients.
import * as tf from '@tensorflow/tfjs-core';
import { createRequire } from 'node:module';
import { existsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

export { tf };

let ready: Promise<string> | null = null;

/**
 * tfjs-core's node entry registers no gradient functions (the `@tensorflow/tfjs` union package
 * does that, and it is not installed), and its ESM gradient files use extensionless imports that
 * Node cannot load. When no gradient is registered yet, bundle them once with esbuild (already
 * installed with tsx) into the temp dir and import that; kernel and gradient registries are
 * process globals, so the bundled copy registers into the same engine.
 */
async function ensureGradients(): Promise<void> {
  if (tf.getGradient('RealDiv') !== undefined) return;
  const require = createRequire(import.meta.url);
  const entry = require.resolve('@tensorflow/tfjs-core/dist/register_all_gradients.js');
  const version = (tf.version_core ?? 'x').replace(/[^0-9a-z.]/gi, '');
  const out = join(tmpdir(), `emerflow-tfjs-grads-${version}-${process.getuid?.() ?? 0}.mjs`);
  if (!existsSync(out)) {
    const esbuild = await import('esbuild');
    const r = esbuild.buildSync({ entryPoints: [entry], bundle: true, format: 'esm', platform: 'node', write: false, logLevel: 'error' });
    writeFileSync(out, r.outputFiles[0]!.text);
  }
  await import(pathToFileURL(out).href);
  if (tf.getGradient('RealDiv') === undefined) throw new Error('could not register TF.js gradients');
}

/** Prefer the service's own backend choice (src/model), else wasm, else cpu. */
export function initEvalBackend(): Promise<string> {
  ready ??= (async () => {
    let name = '';
    try {
      // a variable specifier: src/model is written concurrently and may not exist yet
      const spec = '../model/index.js';
      const model = (await import(spec)) as { initBackend?: () => Promise<{ name: string }> };
      if (typeof model.initBackend === 'function') name = (await model.initBackend()).name;
    } catch {
      // src/model not there yet (or failed to load): fall back below.
    }
    if (!name) {
      try {
        await import('@tensorflow/tfjs-backend-wasm');
        if (await tf.setBackend('wasm')) name = 'wasm';
      } catch { /* next */ }
    }
    if (!name) {
      await import('@tensorflow/tfjs-backend-cpu');
      await tf.setBackend('cpu');
      name = 'cpu';
    }
    await tf.ready();
    await ensureGradients();
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
      type Wasm = { readSync(id: unknown): ArrayLike<number>; makeOutput(shape: number[], dtype: string): tf.TensorInfo; typedArrayFromHeap(t: tf.TensorInfo): Float32Array };
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
        const o = s * inner, xi = r * inner;
        for (let j = 0; j < inner; j++) ov[o + j] += xv[xi + j]!;
      }
      return out;
    },
  });
}

/** Differentiable row lookup (see registerSegmentSum). */
export function lookup(table: tf.Tensor2D, idx: tf.Tensor1D): tf.Tensor2D {
  return tf.gather(table, idx);
}
