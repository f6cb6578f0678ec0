// Mini-batching of interaction rows into tensors.
import { tf } from './tf.js';
import type { Batch } from './backbone.js';
import type { Row } from './protocol.js';
import { shuffled } from '../model/prng.js';

export function toBatch(rows: Row[]): Batch {
  return {
    users: tf.tensor1d(
      Int32Array.from(rows, (r) => r.user - 1),
      'int32',
    ),
    items: tf.tensor1d(
      Int32Array.from(rows, (r) => r.item - 1),
      'int32',
    ),
    labels: tf.tensor1d(Float32Array.from(rows, (r) => r.label)),
  };
}

export function disposeBatch(b: Batch): void {
  b.users.dispose();
  b.items.dispose();
  b.labels.dispose();
}

/** Runs `step` on shuffled mini-batches for `epochs` epochs; the batch tensors are freed after each step. */
export async function forBatches(
  rows: Row[],
  batch: number,
  epochs: number,
  rand: () => number,
  step: (b: Batch, rows: Row[]) => void,
  onEpoch?: (e: number) => void,
): Promise<void> {
  for (let e = 0; e < epochs; e++) {
    const order = shuffled(rows, rand);
    for (let i = 0; i < order.length; i += batch) {
      const chunk = order.slice(i, i + batch);
      const b = toBatch(chunk);
      tf.tidy(() => step(b, chunk));
      disposeBatch(b);
    }
    onEpoch?.(e);
    // yield to the event loop so the progress bar can redraw
    await new Promise((r) => setImmediate(r));
  }
}
