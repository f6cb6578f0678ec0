// The shape every warm-up method takes in the evaluation, and the pieces they share.
import { tf, lookup } from '../tf.js';
import type { Backbone } from '../backbone.js';
import type { ItemFeatures } from '../features.js';
import type { Row, Split } from '../protocol.js';
import { forBatches } from '../batches.js';
import { mulberry32 } from '../../model/prng.js';

export interface MethodEnv {
  bb: Backbone;
  split: Split;
  feats: ItemFeatures;
  seed: number;
  /** Adam step size and batch for updating emerging items' id embeddings on a warm set (1 epoch, as CVAR's `only_optimize_itemid`) */
  warmLr: number;
  warmBatch: number;
  /** epochs over the established items' ratings for meta-training */
  metaEpochs: number;
  onProgress?: (fraction: number) => void;
}

export interface WarmMethod {
  readonly name: string;
  /** learn whatever the method learns from established items (backbone frozen) */
  fit(): Promise<void>;
  /** consume one warm set (stage 0 = warm-a, 1 = warm-b, 2 = warm-c) */
  warm(stage: number, rows: Row[]): Promise<void>;
  /** [nItems, dim] item-id embeddings; rows of emerging items are what is evaluated */
  embeddings(): tf.Tensor2D;
  dispose(): void;
}

/** State a method's fit() sets up; throws (naming the method) when it is used before fit(). */
export function fitted<T>(x: T | null, method: string): T {
  if (x === null) throw new Error(`${method}: fit() must run before warm() and embeddings()`);
  return x;
}

/** Appends `value` to the list under `key`, starting the list on first use. */
export function pushTo<K, V>(m: Map<K, V[]>, key: K, value: V): void {
  const list = m.get(key);
  if (list) list.push(value);
  else m.set(key, [value]);
}

/** Dense layer with uniform(±0.01) init (CVAR's `init_*`). */
export class Dense {
  readonly w: tf.Variable;
  readonly b: tf.Variable;
  constructor(inDim: number, outDim: number, seed: number, scale = 0.01) {
    this.w = tf.variable(tf.randomUniform([inDim, outDim], -scale, scale, 'float32', seed));
    this.b = tf.variable(tf.randomUniform([outDim], -scale, scale, 'float32', seed + 1));
  }
  apply(x: tf.Tensor2D): tf.Tensor2D {
    return tf.add(tf.matMul(x, this.w), this.b) as tf.Tensor2D;
  }
  get vars(): tf.Variable[] {
    return [this.w, this.b];
  }
  dispose(): void {
    this.w.dispose();
    this.b.dispose();
  }
}

/** Mean item-id embedding of the established items: the "no information" item. */
export function meanEstablished(env: MethodEnv): tf.Tensor1D {
  return tf.tidy(
    () =>
      tf.mean(
        tf.gather(
          env.bb.itemEmb,
          tf.tensor1d(
            env.split.established.map((i) => i - 1),
            'int32',
          ),
        ),
        0,
      ) as tf.Tensor1D,
  );
}

/** A full [nItems, dim] table whose emerging rows hold `rows` ([nEmerging, dim], in split.emerging order). */
export function scatterEmerging(env: MethodEnv, base: tf.Tensor2D, rows: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => {
    const idx = tf.tensor2d(
      Int32Array.from(env.split.emerging, (i) => i - 1),
      [env.split.emerging.length, 1],
      'int32',
    );
    return tf.tensorScatterUpdate(base, idx, rows) as tf.Tensor2D;
  });
}

/**
 * CVAR's `only_optimize_itemid` + `train(...)`: one epoch of Adam on the item-id embedding table only,
 * backbone frozen. `view` maps the gathered id embeddings to what the backbone sees (identity for base).
 */
export async function updateIdEmbeddings(
  env: MethodEnv,
  table: tf.Variable,
  rows: Row[],
  salt: number,
  view?: (e: tf.Tensor2D, items: tf.Tensor1D) => tf.Tensor2D,
): Promise<void> {
  const opt = tf.train.adam(env.warmLr);
  await forBatches(rows, env.warmBatch, 1, mulberry32(env.seed * 1009 + salt), (b) => {
    opt.minimize(
      () => {
        const e = lookup(table as unknown as tf.Tensor2D, b.items);
        const v = view ? view(e, b.items) : e;
        return tf.losses.sigmoidCrossEntropy(b.labels, env.bb.logits(v, b.users, b.items)) as tf.Scalar;
      },
      false,
      [table],
    );
  });
  opt.dispose();
}
