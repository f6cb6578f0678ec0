// Scores the test set with the frozen backbone and a method's item-id embeddings.
import { tf } from './tf.js';
import type { Backbone } from './backbone.js';
import type { Row } from './protocol.js';
import { toBatch, disposeBatch } from './batches.js';
import { auc, f1AtMean } from './metrics.js';

export interface Score {
  auc: number;
  f1: number;
}

function scoreRows(bb: Backbone, table: tf.Tensor2D, rows: Row[]): Float32Array {
  const out = new Float32Array(rows.length);
  const step = 8192;
  for (let i = 0; i < rows.length; i += step) {
    const b = toBatch(rows.slice(i, i + step));
    const p = tf.tidy(() => tf.sigmoid(bb.logits(tf.gather(table, b.items) as tf.Tensor2D, b.users, b.items)));
    out.set(p.dataSync() as Float32Array, i);
    p.dispose();
    disposeBatch(b);
  }
  return out;
}

export function evaluate(bb: Backbone, table: tf.Tensor2D, rows: Row[]): Score {
  const s = scoreRows(bb, table, rows);
  const labels = Uint8Array.from(rows, (r) => r.label);
  return { auc: auc(labels, s), f1: f1AtMean(labels, s) };
}
