// `base`: a random embedding for each new item, then only the item-id embeddings trained on each warm set.
import { tf } from '../tf.js';
import type { Row } from '../protocol.js';
import { type MethodEnv, type WarmMethod, fitted, updateIdEmbeddings } from './method.js';

export class BaseMethod implements WarmMethod {
  readonly name = 'base';
  private table: tf.Variable | null = null;
  constructor(private readonly env: MethodEnv) {}

  async fit(): Promise<void> {
    const { bb, split, seed } = this.env;
    // new ids keep the backbone's own init distribution (N(0, 0.1), as trainDot)
    const rand = tf.randomNormal([split.emerging.length, bb.dim], 0, 0.1, 'float32', seed * 13 + 3) as tf.Tensor2D;
    const idx = tf.tensor2d(
      Int32Array.from(split.emerging, (i) => i - 1),
      [split.emerging.length, 1],
      'int32',
    );
    this.table = tf.variable(tf.tensorScatterUpdate(bb.itemEmb, idx, rand));
    rand.dispose();
    idx.dispose();
  }

  async warm(stage: number, rows: Row[]): Promise<void> {
    await updateIdEmbeddings(this.env, fitted(this.table, this.name), rows, 17 + stage);
  }

  embeddings(): tf.Tensor2D {
    return fitted(this.table, this.name) as tf.Tensor2D;
  }
  dispose(): void {
    this.table?.dispose();
  }
}
