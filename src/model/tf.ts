// The one place the model code gets TensorFlow.js from. Importing only
// tfjs-core keeps the install light; gradients are registered on demand because
// the CommonJS core bundle carries none (see tf-resolve-hook.mjs).
import * as tf from '@tensorflow/tfjs-core';
import { register } from 'node:module';

export { tf };

let gradients: Promise<void> | null = null;

/** Registers tfjs-core's gradient functions once (no-op when a full backend package already did). */
export function ensureGradients(): Promise<void> {
  if (gradients) return gradients;
  gradients = (async () => {
    if (tf.getGradient('Sum') && tf.getGradient('BatchMatMul')) return;
    register(new URL('./tf-resolve-hook.mjs', import.meta.url));
    const spec = '@tensorflow/tfjs-core/dist/register_all_gradients.js';
    await import(spec);
  })();
  return gradients;
}

export function gradientsReady(): boolean {
  return tf.getGradient('Sum') !== undefined;
}
