// The `deepfm` backbone (as in the MetaEmb/MWUF/CVAR/EmerG tables): fields user id, one per user
// feature (users.csv; on ML-100k age, gender, occupation, zip), item id, one per item feature
// (features.ts; on ML-100k genres, title words, year); FM (first + second order) plus an MLP (16, 16)
// on the concatenated field embeddings. Warm-up methods replace only the item-id embedding; the
// item-id first-order weight is left out, since a new item has none.
import { tf, lookup } from './tf.js';
import type { Backbone, BackboneOpts } from './backbone.js';
import type { BackboneData } from './backbones.js';
import type { Row } from './protocol.js';
import { forBatches } from './batches.js';
import { featureFields, disposeFeatures, type FeatureField } from './features.js';
import { mulberry32 } from '../model/prng.js';
import type { Scorer } from '../model/index.js';
import { concat } from '../model/plain-refine.js';

/** A feature field in the model: its rows (by user or by item) and its embedding table and first-order weights. */
interface Field {
  x: tf.Tensor2D;
  byUser: boolean;
  emb: tf.Tensor2D;
  w: tf.Tensor2D;
}

interface Params {
  userId: tf.Tensor2D;
  itemId: tf.Tensor2D;
  /** first-order weight of the user id */
  wUser: tf.Tensor2D;
  /** user feature fields, then item feature fields */
  fields: Field[];
  bias: tf.Tensor1D;
  h1: tf.Tensor2D;
  b1: tf.Tensor1D;
  h2: tf.Tensor2D;
  b2: tf.Tensor1D;
  out: tf.Tensor2D;
}

/** every trainable tensor of `p`, in a fixed order */
function trainable(p: Params): tf.Tensor[] {
  return [p.userId, p.itemId, p.wUser, ...p.fields.flatMap((f) => [f.emb, f.w]), p.bias, p.h1, p.b1, p.h2, p.b2, p.out];
}

/** the per-row context for the item-id field: the other fields' embeddings [n, (1 + fields)·dim] and their linear term [n, 1] */
function contextRows(p: Params, users: tf.Tensor1D, items: tf.Tensor1D, userRowEmb?: tf.Tensor2D): tf.Tensor2D {
  const embs = [userRowEmb ?? lookup(p.userId, users)];
  const lin = [lookup(p.wUser, users)];
  for (const f of p.fields) {
    const x = tf.gather(f.x, f.byUser ? users : items);
    embs.push(tf.matMul(x, f.emb));
    lin.push(tf.matMul(x, f.w));
  }
  return tf.concat([...embs, tf.addN(lin)], 1) as tf.Tensor2D;
}

/** DeepFM logit of item-id embeddings against context rows (differentiable in both) */
function deepfmLogits(p: Params, item: tf.Tensor2D, ctx: tf.Tensor2D): tf.Tensor1D {
  const d = item.shape[1];
  const others = 1 + p.fields.length;
  const emb = tf.reshape(tf.slice(ctx, [0, 0], [-1, others * d]), [-1, others, d]);
  const lin = tf.reshape(tf.slice(ctx, [0, others * d], [-1, 1]), [-1]);
  const all = tf.concat([tf.reshape(item, [-1, 1, d]), emb], 1); // [n, 1 + others, d]
  const sum = tf.sum(all, 1);
  const fm = tf.mul(0.5, tf.sum(tf.sub(tf.square(sum), tf.sum(tf.square(all), 1)), 1));
  const flat = tf.reshape(all, [-1, (1 + others) * d]);
  const h = tf.relu(tf.add(tf.matMul(tf.relu(tf.add(tf.matMul(flat, p.h1), p.b1)), p.h2), p.b2));
  const mlp = tf.reshape(tf.matMul(h, p.out), [-1]);
  return tf.add(tf.add(tf.add(lin, fm), mlp), p.bias) as tf.Tensor1D;
}

export class DeepFMBackbone implements Backbone {
  readonly kind = 'deepfm' as const;
  readonly scorer: Scorer;
  constructor(
    private readonly p: Params,
    private readonly userFields: FeatureField[],
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
    return deepfmLogits(this.p, itemRowEmb, contextRows(this.p, users, items, userRowEmb));
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
    for (const t of trainable(this.p)) t.dispose();
    // the user fields' rows were built for this backbone; the item fields' belong to the caller
    disposeFeatures(this.userFields);
  }
}

/** `p` with every trainable tensor replaced by `f` of it (the feature rows stay as they are) */
function mapParams(p: Params, f: <T extends tf.Tensor>(t: T) => T): Params {
  return {
    userId: f(p.userId),
    itemId: f(p.itemId),
    wUser: f(p.wUser),
    fields: p.fields.map((x) => ({ ...x, emb: f(x.emb), w: f(x.w) })),
    bias: f(p.bias),
    h1: f(p.h1),
    b1: f(p.b1),
    h2: f(p.h2),
    b2: f(p.b2),
    out: f(p.out),
  };
}

export async function trainDeepFM(
  rows: Row[],
  d: BackboneData,
  o: BackboneOpts,
  onProgress?: (f: number) => void,
): Promise<DeepFMBackbone> {
  const k = o.dim;
  let s = o.seed * 1000;
  const vars: tf.Variable[] = [];
  const keep = <T extends tf.Variable>(v: T): T => {
    vars.push(v);
    return v;
  };
  const n = (nRows: number, nCols: number, std = 0.1) =>
    keep(tf.variable(tf.randomNormal<tf.Rank.R2>([nRows, nCols], 0, std, 'float32', ++s)));
  const zeros = (len: number) => keep(tf.variable(tf.zeros<tf.Rank.R1>([len])));
  // strings are whole values here (an occupation, a zip code), not bags of words
  const userFields = featureFields(
    d.ds.users.map((u) => u.features),
    'values',
  );
  const fields = [...userFields.map((f) => ({ x: f.x, byUser: true })), ...d.feats.fields.map((f) => ({ x: f.x, byUser: false }))].map(
    (f) => ({ ...f, emb: n(f.x.shape[1], k), w: n(f.x.shape[1], 1, 0.01) }),
  );
  const width = (2 + fields.length) * k; // item id, user id, the feature fields
  const p: Params = {
    userId: n(d.nUsers, k),
    itemId: n(d.nItems, k),
    wUser: n(d.nUsers, 1, 0.01),
    fields,
    bias: zeros(1),
    h1: n(width, 16, Math.sqrt(2 / width)),
    b1: zeros(16),
    h2: n(16, 16, Math.sqrt(2 / 16)),
    b2: zeros(16),
    out: n(16, 1, 0.1),
  };
  const opt = tf.train.adam(o.lr);
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
          const loss = tf.losses.sigmoidCrossEntropy(b.labels, deepfmLogits(p, item, contextRows(p, b.users, b.items, user)));
          return tf.add(loss, tf.mul(o.l2, tf.add(tf.mean(tf.sum(tf.square(item), 1)), tf.mean(tf.sum(tf.square(user), 1))))) as tf.Scalar;
        },
        false,
        vars,
      );
    },
    (e) => onProgress?.((e + 1) / o.epochs),
  );
  opt.dispose();
  const frozen = mapParams(p, (t) => tf.clone(t));
  for (const t of vars) t.dispose();
  return new DeepFMBackbone(frozen, userFields);
}
