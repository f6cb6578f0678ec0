// MWUF (Zhu et al., SIGIR'21). Warm embedding = scale(item features) ⊙ e_id + shift(mean embedding of
// the users who interacted with the item). e_id is trained with the cold loss, the two meta networks
// with the warm loss. The item→users table is built item → users (BestActionNow/CVAR builds it with
// users and items swapped, so its shift input is really a user's items).
import { tf, lookup } from '../tf.js';
import type { Row } from '../protocol.js';
import { SideEmbedding } from '../features.js';
import { forBatches } from '../batches.js';
import { mulberry32 } from '../../model/prng.js';
import { Dense, type MethodEnv, type WarmMethod, fitted, meanEstablished, updateIdEmbeddings } from './method.js';

interface MwufOpts {
  lr: number;
  batch: number;
}
const MWUF_DEFAULTS: MwufOpts = { lr: 5e-3, batch: 256 };

export class MwufMethod implements WarmMethod {
  readonly name = 'mwuf';
  private side: SideEmbedding;
  private scale1: Dense;
  private scale2: Dense;
  private shift1: Dense;
  private shift2: Dense;
  private idTable: tf.Variable | null = null;
  /** [nItems, dim] mean user embedding of each item's users so far */
  private avgUsers: tf.Tensor2D | null = null;
  private sums: Float32Array;
  private counts: Float32Array;
  private popMean: Float32Array;
  private out: tf.Tensor2D | null = null;

  constructor(
    private readonly env: MethodEnv,
    private readonly o: MwufOpts = MWUF_DEFAULTS,
  ) {
    const d = env.bb.dim;
    const s = env.seed * 37;
    this.side = new SideEmbedding(env.feats, d, s + 1);
    this.scale1 = new Dense(this.side.width, 16, s + 11);
    this.scale2 = new Dense(16, d, s + 13);
    this.shift1 = new Dense(d, 16, s + 15);
    this.shift2 = new Dense(16, d, s + 17);
    this.sums = new Float32Array(env.bb.nItems * d);
    this.counts = new Float32Array(env.bb.nItems);
    this.popMean = new Float32Array(d);
  }

  private addUsers(rows: Row[]): void {
    const d = this.env.bb.dim;
    const U = this.env.bb.userEmb.dataSync();
    for (const r of rows) {
      const i = r.item - 1,
        u = r.user - 1;
      this.counts[i]! += 1;
      for (let j = 0; j < d; j++) this.sums[i * d + j]! += U[u * d + j]!;
    }
    const avg = new Float32Array(this.sums.length);
    for (let i = 0; i < this.counts.length; i++) {
      for (let j = 0; j < d; j++) avg[i * d + j] = this.counts[i]! > 0 ? this.sums[i * d + j]! / this.counts[i]! : this.popMean[j]!;
    }
    this.avgUsers?.dispose();
    this.avgUsers = tf.tensor2d(avg, [this.counts.length, d]);
  }

  private warmEmb(e: tf.Tensor2D, items: tf.Tensor1D): tf.Tensor2D {
    const scale = this.scale2.apply(tf.relu(this.scale1.apply(this.side.embed(items))) as tf.Tensor2D);
    const shift = this.shift2.apply(tf.relu(this.shift1.apply(tf.gather(fitted(this.avgUsers, this.name), items))) as tf.Tensor2D);
    return tf.add(tf.mul(scale, e), shift) as tf.Tensor2D;
  }

  async fit(): Promise<void> {
    const { env, o } = this;
    const d = env.bb.dim;
    // no users yet → the population's mean user (the in-distribution "no information" input)
    const U = env.bb.userEmb.dataSync();
    for (const r of env.split.trainBase)
      for (let j = 0; j < d; j++) this.popMean[j]! += U[(r.user - 1) * d + j]! / env.split.trainBase.length;
    this.addUsers(env.split.trainBase);
    const mean = meanEstablished(env);
    const idTable = tf.variable(tf.tidy(() => tf.tile(tf.expandDims(mean, 0), [env.bb.nItems, 1])));
    this.idTable = idTable;
    mean.dispose();
    const opt1 = tf.train.adam(o.lr);
    const opt2 = tf.train.adam(o.lr);
    const meta = [...this.side.vars, ...this.scale1.vars, ...this.scale2.vars, ...this.shift1.vars, ...this.shift2.vars];
    const table = idTable as tf.Tensor2D;
    await forBatches(
      env.split.trainBase,
      o.batch,
      env.metaEpochs,
      mulberry32(env.seed * 6007 + 1),
      (b) => {
        opt1.minimize(
          () => tf.losses.sigmoidCrossEntropy(b.labels, env.bb.logits(lookup(table, b.items), b.users, b.items)) as tf.Scalar,
          false,
          [idTable],
        );
        // e_id enters the warm loss as a constant: only the meta networks are in the var list
        opt2.minimize(
          () =>
            tf.losses.sigmoidCrossEntropy(
              b.labels,
              env.bb.logits(this.warmEmb(tf.gather(table, b.items), b.items), b.users, b.items),
            ) as tf.Scalar,
          false,
          meta,
        );
      },
      (e) => env.onProgress?.((e + 1) / env.metaEpochs),
    );
    opt1.dispose();
    opt2.dispose();
    // emerging items start from the mean item with no users
    const em = env.split.emerging.map((i) => i - 1);
    for (const i of em) {
      this.counts[i] = 0;
      this.sums.fill(0, i * d, (i + 1) * d);
    }
    this.addUsers([]);
    tf.tidy(() => {
      const m = meanEstablished(env);
      const idx = tf.tensor2d(Int32Array.from(em), [em.length, 1], 'int32');
      idTable.assign(tf.tensorScatterUpdate(idTable, idx, tf.tile(tf.expandDims(m, 0), [em.length, 1])));
    });
    this.refresh();
  }

  private refresh(): void {
    this.out?.dispose();
    this.out = tf.tidy(() => {
      const all = tf.range(0, this.env.bb.nItems, 1, 'int32') as tf.Tensor1D;
      return this.warmEmb(fitted(this.idTable, this.name) as tf.Tensor2D, all);
    });
  }

  async warm(stage: number, rows: Row[]): Promise<void> {
    await updateIdEmbeddings(this.env, fitted(this.idTable, this.name), rows, 41 + stage); // cold loss on e_id
    this.addUsers(rows);
    this.refresh();
  }

  embeddings(): tf.Tensor2D {
    return fitted(this.out, this.name);
  }
  dispose(): void {
    for (const x of [this.idTable, this.avgUsers, this.out]) x?.dispose();
    this.side.dispose();
    for (const l of [this.scale1, this.scale2, this.shift1, this.shift2]) l.dispose();
  }
}
