// The one place the model code gets TensorFlow.js from. Importing only
// tfjs-core keeps the install light; gradients are registered on demand because
// the CommonJS core bundle carries none (see tf-resolve-hook.mjs).
import * as tf from '@tensorflow/tfjs-core';
import { register } from 'node:module';

export { tf };

let gradients: Promise<void> | null = null;

/**
 * Set only by a build that made tfjs-core's gradient registrations into one module beforehand (the
 * test suite's, scripts/build-tests.ts): its URL relative to this file. The same registrations load
 * in a fraction of the CPU, one module instead of hundreds and no hook thread, which every test
 * process that starts a service would otherwise pay (about 2 CPU-s each). Unset here, where the
 * service runs from source (npm start) or from tsc's output: the package's own files, through the hook.
 */
declare const EMERFLOW_TF_GRADIENTS_BUNDLE: string | undefined;

/** Registers tfjs-core's gradient functions once (no-op when a full backend package already did). */
export function ensureGradients(): Promise<void> {
  if (gradients) return gradients;
  gradients = (async () => {
    if (tf.getGradient('Sum') && tf.getGradient('BatchMatMul')) return;
    if (typeof EMERFLOW_TF_GRADIENTS_BUNDLE === 'string') {
      await import(new URL(EMERFLOW_TF_GRADIENTS_BUNDLE, import.meta.url).href);
      return;
    }
    register(new URL('./tf-resolve-hook.mjs', import.meta.url));
    const spec = '@tensorflow/tfjs-core/dist/register_all_gradients.js';
    await import(spec);
  })();
  return gradients;
}

export function gradientsReady(): boolean {
  return tf.getGradient('Sum') !== undefined;
}
