// Dense side information for the baselines (and DeepFM's feature fields), built from whatever raw
// features a dataset has: one field per feature name. Strings are bags of words (item titles) or
// whole values (user categories), lists of strings multi-hot values (genres), numbers quantile bins
// plus a 'missing' bin (a year, an age). Words and values seen in one row only are dropped: they
// cannot generalise between items, they would only act as a second id.
import { tf } from './tf.js';
import type { Dataset, FeatureValue } from './dataset/types.js';

export interface FeatureField {
  name: string;
  kind: 'words' | 'values' | 'bins' | 'constant';
  size: number;
  /** [rows, size]: word counts, multi-hot values or a one-hot bin; row = item (or user) number - 1 */
  x: tf.Tensor2D;
}

export interface ItemFeatures {
  fields: FeatureField[];
  /** frees the fields' matrices */
  dispose(): void;
}

/** most columns one field may have (the most frequent words or values), so a big catalogue stays a dense matrix that fits */
const MAX_COLUMNS = 2000;
/** most bins of a numeric field, 'missing' aside */
const NUMERIC_BINS = 10;

const WORD = /[\p{L}\p{N}]+/gu;

/** Lower bin edges: a value's bin is how many edges it reaches. Few distinct values get one bin each. */
function binEdges(nums: number[], bins = NUMERIC_BINS): number[] {
  const xs = [...nums].sort((a, b) => a - b);
  const distinct = [...new Set(xs)];
  if (distinct.length <= bins) return distinct.slice(1);
  const edges = new Set<number>();
  // floor(q · n) < n for q < 1: inside xs
  for (let q = 1; q < bins; q++) edges.add(xs[Math.floor((q / bins) * xs.length)]!);
  edges.delete(distinct[0]!); // an edge at the minimum would leave bin 0 empty; distinct has > bins values
  return [...edges].sort((a, b) => a - b);
}

type Tokens = (v: FeatureValue) => string[];

/** The columns worth keeping: tokens in ≥ 2 rows, the most frequent MAX_COLUMNS, in order of first appearance. */
function vocabulary(rows: (FeatureValue | undefined)[], tokens: Tokens): Map<string, number> {
  const df = new Map<string, number>();
  for (const v of rows) if (v !== undefined) for (const t of new Set(tokens(v))) df.set(t, (df.get(t) ?? 0) + 1);
  let kept = [...df].filter(([, n]) => n >= 2);
  if (kept.length > MAX_COLUMNS) {
    const top = new Set(
      [...kept]
        .sort((a, b) => b[1] - a[1])
        .slice(0, MAX_COLUMNS)
        .map(([t]) => t),
    );
    kept = kept.filter(([t]) => top.has(t));
  }
  return new Map(kept.map(([t], j) => [t, j]));
}

function field(name: string, rows: (FeatureValue | undefined)[], stringsAs: 'words' | 'values'): FeatureField | null {
  const present = rows.filter((v) => v !== undefined);
  const nums = present.filter((v) => typeof v === 'number');
  const n = rows.length;
  if (nums.length === present.length) {
    const edges = binEdges(nums);
    const size = edges.length + 2; // bins, then 'missing'
    const m = new Float32Array(n * size);
    rows.forEach((v, r) => {
      const bin = typeof v === 'number' ? edges.filter((e) => v >= e).length : size - 1;
      m[r * size + bin] = 1;
    });
    return { name, kind: 'bins', size, x: tf.tensor2d(m, [n, size]) };
  }
  // a list anywhere makes the field a list field; a lone string or number in it is a one-value list
  const kind = present.some(Array.isArray) ? 'values' : stringsAs;
  const tokens: Tokens =
    kind === 'values'
      ? (v) => (Array.isArray(v) ? v : [String(v)])
      : (v) => (Array.isArray(v) ? v.join(' ') : String(v)).toLowerCase().match(WORD) ?? [];
  const vocab = vocabulary(rows, tokens);
  if (vocab.size === 0) return null;
  const size = vocab.size;
  const m = new Float32Array(n * size);
  rows.forEach((v, r) => {
    if (v === undefined) return;
    for (const t of kind === 'words' ? tokens(v) : new Set(tokens(v))) {
      const j = vocab.get(t);
      if (j !== undefined) m[r * size + j]! += 1; // r < n, j < size: inside m
    }
  });
  return { name, kind, size, x: tf.tensor2d(m, [n, size]) };
}

/** One field per feature name (sorted, so key order in the files does not matter); fields with no usable column are left out. */
export function featureFields(rows: Record<string, FeatureValue>[], stringsAs: 'words' | 'values'): FeatureField[] {
  const names = [...new Set(rows.flatMap((r) => Object.keys(r)))].sort();
  return names.flatMap(
    (name) =>
      field(
        name,
        rows.map((r) => r[name]),
        stringsAs,
      ) ?? [],
  );
}

/** The items' side fields; a dataset without usable item features gets one constant field, so every method still has an input. */
export function buildItemFeatures(ds: Dataset): ItemFeatures {
  const fields = featureFields(
    ds.items.map((it) => it.features),
    'words',
  );
  if (fields.length === 0)
    fields.push({
      name: '(none)',
      kind: 'constant',
      size: 1,
      x: tf.tensor2d(new Float32Array(ds.items.length).fill(1), [ds.items.length, 1]),
    });
  return { fields, dispose: () => disposeFeatures(fields) };
}

export function disposeFeatures(fields: FeatureField[]): void {
  for (const f of fields) f.x.dispose();
}

/** A method's own trainable field embeddings (one table per field), concatenated per item: [n, fields · dim]. */
export class SideEmbedding {
  private readonly tables: { x: tf.Tensor2D; w: tf.Variable }[];
  /** width of embed()'s rows */
  readonly width: number;
  constructor(f: ItemFeatures, dim: number, seed: number) {
    this.tables = f.fields.map((fl, j) => ({
      x: fl.x,
      w: tf.variable(tf.randomUniform([fl.size, dim], -0.01, 0.01, 'float32', seed + j + 1)),
    }));
    this.width = f.fields.length * dim;
  }
  get vars(): tf.Variable[] {
    return this.tables.map((t) => t.w);
  }
  /** items: int32 item rows (number - 1) */
  embed(items: tf.Tensor1D): tf.Tensor2D {
    // sum-pooling, as CVAR's 'seq' fields
    return tf.concat(
      this.tables.map((t) => tf.matMul(tf.gather(t.x, items), t.w)),
      1,
    ) as tf.Tensor2D;
  }
  dispose(): void {
    for (const t of this.tables) t.w.dispose();
  }
}
