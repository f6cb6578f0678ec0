// The `deepfm` backbone (as in the MetaEmb/MWUF/CVAR/EmerG tables): fields user id, gender, age,
// occupation, item id, year, genres, title words; FM (first + second order) plus an MLP (16, 16)
// on the concatenated field embeddings. Warm-up methods replace only the item-id embedding; the
// item-id first-order weight is left out, since a new item has none.
import { tf, lookup } from './tf.js';
import type { Backbone, BackboneOpts } from './backbone.js';
import type { BackboneData } from './backbones.js';
import type { Row } from './protocol.js';
import { forBatches } from './batches.js';
import { mulberry32 } from '../model/prng.js';
import type { Scorer } from '../model/index.js';
import { concat } from '../model/plain-refine.js';

interface Params {
  userId: tf.Tensor2D;
  itemId: tf.Tensor2D;
  /** user feature one-hots [nUsers, nUF] and item feature matrices live in `consts` */
  userFeat: tf.Tensor2D;
  year: tf.Tensor2D;
  genres: tf.Tensor2D;
  title: tf.Tensor2D;
  /** first-order weights: user id, user features, item features */
  wUser: tf.Tensor2D;
  wUserFeat: tf.Tensor2D;
  wYear: tf.Tensor2D;
  wGenres: tf.Tensor2D;
  wTitle: tf.Tensor2D;
  bias: tf.Tensor1D;
  h1: tf.Tensor2D;
  b1: tf.Tensor1D;
  h2: tf.Tensor2D;
  b2: tf.Tensor1D;
  out: tf.Tensor2D;
}

interface Consts {
  uf: tf.Tensor2D;
  Y: tf.Tensor2D;
  G: tf.Tensor2D;
  T: tf.Tensor2D;
  ufSize: number;
}

/** gender (2) + age band (7) + occupation (21) one-hots per user */
function userFeatures(d: BackboneData): tf.Tensor2D {
  const occs = [...new Set(d.ml.users.map((u) => u.occupation))].sort();
  const bands = [18, 25, 35, 45, 50, 56];
  const w = 2 + bands.length + 1 + occs.length;
  const m = new Float32Array(d.nUsers * w);
  for (const u of d.ml.users) {
    const r = (u.id - 1) * w;
    m[r + (u.gender === 'F' ? 0 : 1)] = 1;
    m[r + 2 + bands.filter((b) => u.age >= b).length] = 1;
    m[r + 3 + bands.length + occs.indexOf(u.occupation)] = 1;
  }
  return tf.tensor2d(m, [d.nUsers, w]);
}

/** the per-row context for the item-id field: the other fields' embeddings [n, 5·dim] and their linear term [n, 1] */
function contextRows(p: Params, c: Consts, users: tf.Tensor1D, items: tf.Tensor1D, userRowEmb?: tf.Tensor2D): tf.Tensor2D {
  const uf = tf.gather(c.uf, users);
  const y = tf.gather(c.Y, items),
    g = tf.gather(c.G, items),
    t = tf.gather(c.T, items);
  const embs = [
    userRowEmb ?? lookup(p.userId, users),
    tf.matMul(uf, p.userFeat),
    tf.matMul(y, p.year),
    tf.matMul(g, p.genres),
    tf.matMul(t, p.title),
  ];
  const lin = tf.addN([
    lookup(p.wUser, users),
    tf.matMul(uf, p.wUserFeat),
    tf.matMul(y, p.wYear),
    tf.matMul(g, p.wGenres),
    tf.matMul(t, p.wTitle),
  ]);
  return tf.concat([...embs, lin], 1) as tf.Tensor2D;
}

/** DeepFM logit of item-id embeddings against context rows (differentiable in both) */
function deepfmLogits(p: Params, item: tf.Tensor2D, ctx: tf.Tensor2D): tf.Tensor1D {
  const d = item.shape[1];
  const others = tf.reshape(tf.slice(ctx, [0, 0], [-1, 5 * d]), [-1, 5, d]);
  const lin = tf.reshape(tf.slice(ctx, [0, 5 * d], [-1, 1]), [-1]);
  const all = tf.concat([tf.reshape(item, [-1, 1, d]), others], 1); // [n, 6, d]
  const sum = tf.sum(all, 1);
  const fm = tf.mul(0.5, tf.sum(tf.sub(tf.square(sum), tf.sum(tf.square(all), 1)), 1));
  const flat = tf.reshape(all, [-1, 6 * d]);
  const h = tf.relu(tf.add(tf.matMul(tf.relu(tf.add(tf.matMul(flat, p.h1), p.b1)), p.h2), p.b2));
  const mlp = tf.reshape(tf.matMul(h, p.out), [-1]);
  return tf.add(tf.add(tf.add(lin, fm), mlp), p.bias) as tf.Tensor1D;
}

export class DeepFMBackbone implements Backbone {
  readonly kind = 'deepfm' as const;
  readonly scorer: Scorer;
  constructor(
    private readonly p: Params,
    private readonly c: Consts,
  ) {
    this.scorer = { name: 'deepfm-eval', logits: (items, ctx) => deepfmLogits(this.p, items, ctx) };
  }
  get dim(): number {
    return this.p.itemId.shape[1];
  }
  get nUsers(): number {
    return this.p.userId.shape[0];
  }
  get nItems(): number {
    return this.p.itemId.shape[0];
  }
  get itemEmb(): tf.Tensor2D {
    return this.p.itemId;
  }
  get userEmb(): tf.Tensor2D {
    return this.p.userId;
  }
  logits(itemRowEmb: tf.Tensor2D, users: tf.Tensor1D, items: tf.Tensor1D, userRowEmb?: tf.Tensor2D): tf.Tensor1D {
    return deepfmLogits(this.p, itemRowEmb, contextRows(this.p, this.c, users, items, userRowEmb));
  }
  /**
   * context rows for EmerFlow (one per (user, item) row); `userRows[i]` replaces row i's user-id
   * embedding (cross-fitted user vectors, crossfit.ts)
   */
  contexts(rows: Row[], userRows?: Float32Array[]): Float32Array[] {
    const out: Float32Array[] = [];
    for (let i = 0; i < rows.length; i += 4096) {
      const chunk = rows.slice(i, i + 4096);
      const ur = userRows?.slice(i, i + 4096);
      const m = tf.tidy(() =>
        contextRows(
          this.p,
          this.c,
          tf.tensor1d(
            chunk.map((r) => r.user - 1),
            'int32',
          ),
          tf.tensor1d(
            chunk.map((r) => r.item - 1),
            'int32',
          ),
          ur ? tf.tensor2d(concat(ur), [ur.length, this.dim]) : undefined,
        ),
      );
      const w = m.shape[1];
      const v = m.dataSync() as Float32Array;
      for (let j = 0; j < chunk.length; j++) out.push(v.slice(j * w, (j + 1) * w));
      m.dispose();
    }
    return out;
  }
  dispose(): void {
    for (const t of Object.values(this.p)) (t as tf.Tensor).dispose();
    this.c.uf.dispose();
  }
}

export async function trainDeepFM(
  rows: Row[],
  d: BackboneData,
  o: BackboneOpts,
  onProgress?: (f: number) => void,
): Promise<DeepFMBackbone> {
  const k = o.dim;
  let s = o.seed * 1000;
  const n = (shape: number[], std = 0.1) => tf.variable(tf.randomNormal(shape, 0, std, 'float32', ++s));
  const uf = userFeatures(d);
  const { year: Y, genres: G, title: T } = d.feats;
  const v: Record<keyof Params, tf.Variable> = {
    userId: n([d.nUsers, k]),
    itemId: n([d.nItems, k]),
    userFeat: n([uf.shape[1], k]),
    year: n([Y.shape[1], k]),
    genres: n([G.shape[1], k]),
    title: n([T.shape[1], k]),
    wUser: n([d.nUsers, 1], 0.01),
    wUserFeat: n([uf.shape[1], 1], 0.01),
    wYear: n([Y.shape[1], 1], 0.01),
    wGenres: n([G.shape[1], 1], 0.01),
    wTitle: n([T.shape[1], 1], 0.01),
    bias: tf.variable(tf.zeros([1])),
    h1: n([6 * k, 16], Math.sqrt(2 / (6 * k))),
    b1: tf.variable(tf.zeros([16])),
    h2: n([16, 16], Math.sqrt(2 / 16)),
    b2: tf.variable(tf.zeros([16])),
    out: n([16, 1], 0.1),
  };
  const p = v as unknown as Params;
  const c: Consts = { uf, Y, G, T, ufSize: uf.shape[1] };
  const opt = tf.train.adam(o.lr);
  const vars = Object.values(v);
  await forBatches(
    rows,
    o.batch,
    o.epochs,
    mulberry32(o.seed * 101 + 9),
    (b) => {
      opt.minimize(
        () => {
          const item = lookup(p.itemId, b.items);
          const user = lookup(p.userId, b.users);
          const loss = tf.losses.sigmoidCrossEntropy(b.labels, deepfmLogits(p, item, contextRows(p, c, b.users, b.items, user)));
          return tf.add(loss, tf.mul(o.l2, tf.add(tf.mean(tf.sum(tf.square(item), 1)), tf.mean(tf.sum(tf.square(user), 1))))) as tf.Scalar;
        },
        false,
        vars,
      );
    },
    (e) => onProgress?.((e + 1) / o.epochs),
  );
  opt.dispose();
  const frozen = Object.fromEntries(Object.entries(v).map(([name, t]) => [name, tf.clone(t)])) as unknown as Params;
  for (const t of vars) t.dispose();
  return new DeepFMBackbone(frozen, c);
}
