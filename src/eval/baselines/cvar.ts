// CVAR (Zhao et al., SIGIR'22; BestActionNow/CVAR model/warm.py + main.py). An encoder maps the id
// embedding to (μ, log σ²), a prior encoder maps side-information embeddings to (μp, log σp²), a
// Wasserstein term ties them; the decoder maps [z, count] back to an id embedding. The served
// embedding is the prior path's decoding; after each warm set the id embedding is trained (base),
// CVAR is warmed up on that set and the embeddings are regenerated.
// Departure: `count` is the number of interactions seen so far (log-scaled); the original feeds each
// item's total rating count, test ratings included, which leaks popularity into the cold stage.
import { tf, lookup } from '../tf.js';
import type { Row } from '../protocol.js';
import { SideEmbedding } from '../features.js';
import { forBatches } from '../batches.js';
import { mulberry32 } from '../../model/prng.js';
import { Dense, type MethodEnv, type WarmMethod, fitted, updateIdEmbeddings } from './method.js';

interface CvarOpts {
  lr: number;
  batch: number;
  iters: number;
  regWeight: number;
}
const CVAR_DEFAULTS: CvarOpts = { lr: 5e-3, batch: 512, iters: 10, regWeight: 1e-4 };

export class CvarMethod implements WarmMethod {
  readonly name = 'cvar';
  private side: SideEmbedding;
  private mean: Dense;
  private logv: Dense;
  private meanP: Dense;
  private logvP: Dense;
  private dec: Dense;
  private idTable: tf.Variable | null = null;
  private seen: Float32Array;
  private maxCount = 1;
  private salt = 0;

  constructor(
    private readonly env: MethodEnv,
    private readonly o: CvarOpts = CVAR_DEFAULTS,
  ) {
    const d = env.bb.dim;
    const s = env.seed * 41;
    this.side = new SideEmbedding(env.feats, d, s + 1);
    this.mean = new Dense(d, 16, s + 11);
    this.logv = new Dense(d, 16, s + 13);
    this.meanP = new Dense(this.side.width, 16, s + 15);
    this.logvP = new Dense(this.side.width, 16, s + 17);
    this.dec = new Dense(17, d, s + 19);
    this.seen = new Float32Array(env.bb.nItems);
  }

  private get vars(): tf.Variable[] {
    return [...this.side.vars, ...this.mean.vars, ...this.logv.vars, ...this.meanP.vars, ...this.logvP.vars, ...this.dec.vars];
  }

  private count(items: tf.Tensor1D): tf.Tensor2D {
    const c = tf.tensor1d(Float32Array.from(this.seen, (x) => Math.log1p(x) / Math.log1p(this.maxCount)));
    return tf.expandDims(tf.gather(c, items), 1) as tf.Tensor2D;
  }

  /** CVAR.warm_item_id: prior-path prediction plus the two regularisers */
  private forward(items: tf.Tensor1D, noiseSeed: number): { predP: tf.Tensor2D; reg: tf.Scalar; recon: tf.Scalar } {
    const idEmb = lookup(fitted(this.idTable, this.name) as tf.Tensor2D, items);
    const side = this.side.embed(items);
    const mu = this.mean.apply(idEmb),
      lv = this.logv.apply(idEmb);
    const muP = this.meanP.apply(side),
      lvP = this.logvP.apply(side);
    const reg = tf.sum(
      tf.add(tf.sum(tf.square(tf.sub(mu, muP)), 1), tf.sum(tf.square(tf.sub(tf.exp(tf.mul(lv, 0.5)), tf.exp(tf.mul(lvP, 0.5)))), 1)),
    ) as tf.Scalar;
    const eps = (s: number) => tf.randomNormal(mu.shape, 0, 1, 'float32', s);
    const z = tf.add(mu, tf.mul(1e-4, tf.mul(tf.exp(tf.mul(lv, 0.5)), eps(noiseSeed))));
    const zP = tf.add(muP, tf.mul(1e-4, tf.mul(tf.exp(tf.mul(lvP, 0.5)), eps(noiseSeed + 1))));
    const cnt = this.count(items);
    const pred = this.dec.apply(tf.concat([z, cnt], 1) as tf.Tensor2D);
    const predP = this.dec.apply(tf.concat([zP, cnt], 1) as tf.Tensor2D);
    const recon = tf.mean(tf.sum(tf.square(tf.sub(pred, idEmb)), 1)) as tf.Scalar;
    return { predP, reg, recon };
  }

  /** main.py `warm_up`: `iters` Adam steps per batch on BCE + recon + 1e-4·Wasserstein, then regenerate */
  private async warmUp(rows: Row[], progress: boolean): Promise<void> {
    const { env, o } = this;
    const opt = tf.train.adam(o.lr);
    const vars = this.vars;
    let n = 0;
    const total = Math.ceil(rows.length / o.batch);
    await forBatches(rows, o.batch, 1, mulberry32(env.seed * 4001 + this.salt++), (b) => {
      for (let it = 0; it < o.iters; it++) {
        opt.minimize(
          () => {
            const { predP, reg, recon } = this.forward(b.items, env.seed * 100003 + n * 17 + it);
            const main = tf.losses.sigmoidCrossEntropy(b.labels, env.bb.logits(predP, b.users, b.items));
            return tf.add(tf.add(main, recon), tf.mul(o.regWeight, reg)) as tf.Scalar;
          },
          false,
          vars,
        );
      }
      n++;
      if (progress) env.onProgress?.(n / total);
    });
    opt.dispose();
    this.regenerate();
  }

  private regenerate(): void {
    tf.tidy(() => {
      const em = this.env.split.emerging.map((i) => i - 1);
      const items = tf.tensor1d(Int32Array.from(em), 'int32');
      const { predP } = this.forward(items, 7);
      const idTable = fitted(this.idTable, this.name);
      idTable.assign(tf.tensorScatterUpdate(idTable, tf.tensor2d(Int32Array.from(em), [em.length, 1], 'int32'), predP));
    });
  }

  async fit(): Promise<void> {
    const { env } = this;
    // origin_item_emb: the backbone's table (emerging rows random until regenerated)
    this.idTable = tf.variable(tf.clone(env.bb.itemEmb));
    for (const r of env.split.trainBase) this.seen[r.item - 1]! += 1;
    this.maxCount = Math.max(...this.seen);
    await this.warmUp(env.split.trainBase, true);
  }

  async warm(stage: number, rows: Row[]): Promise<void> {
    await updateIdEmbeddings(this.env, fitted(this.idTable, this.name), rows, 53 + stage);
    for (const r of rows) this.seen[r.item - 1]! += 1;
    await this.warmUp(rows, false);
  }

  embeddings(): tf.Tensor2D {
    return fitted(this.idTable, this.name) as tf.Tensor2D;
  }
  dispose(): void {
    this.idTable?.dispose();
    this.side.dispose();
    for (const l of [this.mean, this.logv, this.meanP, this.logvP, this.dec]) l.dispose();
  }
}
