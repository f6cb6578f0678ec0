// MetaEmb (Pan et al., SIGIR'19; Feiyang/MetaEmbedding): a generator maps item features to an initial
// id embedding, meta-trained on established items so that the embedding is good both cold (batch a)
// and after one gradient step on a (evaluated on batch b of the same items); loss = α·cold + (1−α)·warm, α = 0.1.
// Tasks are per item, as in the original (CVAR's re-implementation pairs rows of different items).
import { tf } from '../tf.js';
import type { Row } from '../protocol.js';
import { SideEmbedding } from '../features.js';
import { mulberry32, shuffled } from '../../model/prng.js';
import { Dense, type MethodEnv, type WarmMethod, fitted, pushTo, scatterEmerging, updateIdEmbeddings } from './method.js';

interface MetaEmbOpts {
  itemsPerBatch: number;
  /** per meta-epoch */ steps: number;
  lr: number;
  innerLr: number;
  alpha: number;
}
const METAEMB_DEFAULTS: MetaEmbOpts = { itemsPerBatch: 32, steps: 100, lr: 5e-3, innerLr: 0.5, alpha: 0.1 };

export class MetaEmbMethod implements WarmMethod {
  readonly name = 'metaemb';
  private side: SideEmbedding;
  private l1: Dense;
  private l2: Dense;
  private table: tf.Variable | null = null;
  constructor(
    private readonly env: MethodEnv,
    private readonly o: MetaEmbOpts = METAEMB_DEFAULTS,
  ) {
    const d = env.bb.dim;
    this.side = new SideEmbedding(env.feats, d, env.seed * 31 + 1);
    this.l1 = new Dense(this.side.width, 16, env.seed * 31 + 11);
    this.l2 = new Dense(16, d, env.seed * 31 + 13);
  }

  private generate(items: tf.Tensor1D): tf.Tensor2D {
    return this.l2.apply(tf.relu(this.l1.apply(this.side.embed(items))) as tf.Tensor2D);
  }

  async fit(): Promise<void> {
    const { env, o } = this;
    const k = env.split.k;
    // each established item's ratings in time order, cut into 4 consecutive chunks (metaE_a..d)
    const byItem = new Map<number, Row[]>();
    for (const r of env.split.trainBase) pushTo(byItem, r.item, r);
    const chunks = new Map(
      [...byItem].map(([item, rs]) => {
        const q = Math.floor(rs.length / 4);
        return [item, [0, 1, 2, 3].map((c) => rs.slice(c * q, c === 3 ? rs.length : (c + 1) * q))] as const;
      }),
    );
    const items = [...chunks.keys()];
    const rand = mulberry32(env.seed * 7919 + 3);
    // exactly k rows per item and batch (with replacement only when a chunk is smaller, e.g. thinned test data)
    const pick = (rs: Row[]): Row[] => {
      if (rs.length >= k) return shuffled(rs, rand).slice(0, k);
      if (rs.length === 0) throw new Error('metaemb: an established item has fewer than 4 ratings');
      return Array.from({ length: k }, () => rs[Math.floor(rand() * rs.length)]!); // index < rs.length
    };
    const vars = [...this.side.vars, ...this.l1.vars, ...this.l2.vars];
    const opt = tf.train.adam(o.lr);
    const steps = o.steps * env.metaEpochs;
    for (let step = 0; step < steps; step++) {
      const c = step % 4;
      const batchItems = shuffled(items, rand).slice(0, o.itemsPerBatch);
      const B = batchItems.length;
      const a: Row[] = [],
        b: Row[] = [],
        sel: number[] = [];
      batchItems.forEach((it, j) => {
        const ch = chunks.get(it)!; // batchItems are keys of chunks
        for (const r of pick(ch[c]!)) {
          a.push(r);
          sel.push(j);
        } // ch has 4 chunks, c < 4
        for (const r of pick(ch[(c + 1) % 4]!)) b.push(r);
      });
      tf.tidy(() => {
        // rows are item-major with k rows per item; S maps item → its rows (differentiable at any order)
        const S = tf.cast(tf.oneHot(tf.tensor1d(sel, 'int32'), B), 'float32') as tf.Tensor2D;
        const ia = tf.tensor1d(
          Int32Array.from(batchItems, (i) => i - 1),
          'int32',
        );
        const ua = tf.tensor1d(
          Int32Array.from(a, (r) => r.user - 1),
          'int32',
        );
        const ub = tf.tensor1d(
          Int32Array.from(b, (r) => r.user - 1),
          'int32',
        );
        const ra = tf.tensor1d(
          Int32Array.from(a, (r) => r.item - 1),
          'int32',
        );
        const rb = tf.tensor1d(
          Int32Array.from(b, (r) => r.item - 1),
          'int32',
        );
        const ya = tf.tensor1d(Float32Array.from(a, (r) => r.label));
        const yb = tf.tensor1d(Float32Array.from(b, (r) => r.label));
        opt.minimize(
          () => {
            const phi = this.generate(ia);
            // sum over items of each item's mean loss, so the inner gradient is per item
            const lossA = (p: tf.Tensor) =>
              tf.div(
                tf.sum(
                  tf.losses.sigmoidCrossEntropy(
                    ya,
                    env.bb.logits(tf.matMul(S, p as tf.Tensor2D), ua, ra),
                    undefined,
                    undefined,
                    tf.Reduction.NONE,
                  ),
                ),
                k,
              ) as tf.Scalar;
            const la = lossA(phi);
            const g = tf.grad(lossA)(phi);
            const phi2 = tf.sub(phi, tf.mul(o.innerLr, g)) as tf.Tensor2D;
            const lb = tf.losses.sigmoidCrossEntropy(yb, env.bb.logits(tf.matMul(S, phi2), ub, rb));
            return tf.add(tf.mul(o.alpha, tf.div(la, B)), tf.mul(1 - o.alpha, lb)) as tf.Scalar;
          },
          false,
          vars,
        );
      });
      if (step % 20 === 0) {
        env.onProgress?.(step / steps);
        await new Promise((r) => setImmediate(r));
      }
    }
    opt.dispose();
    const em = tf.tensor1d(
      Int32Array.from(env.split.emerging, (i) => i - 1),
      'int32',
    );
    const gen = tf.tidy(() => this.generate(em));
    this.table = tf.variable(scatterEmerging(env, env.bb.itemEmb, gen));
    gen.dispose();
    em.dispose();
  }

  async warm(stage: number, rows: Row[]): Promise<void> {
    await updateIdEmbeddings(this.env, fitted(this.table, this.name), rows, 29 + stage);
  }

  embeddings(): tf.Tensor2D {
    return fitted(this.table, this.name) as tf.Tensor2D;
  }
  dispose(): void {
    this.table?.dispose();
    this.side.dispose();
    this.l1.dispose();
    this.l2.dispose();
  }
}
