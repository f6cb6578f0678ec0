// Training data as the two training stages need it: items with their
// interactions in time order, a seeded train/validation split, and dense
// batches for "phase p" of an item's early life (support = the first p·K
// interactions, query = the next Q).
import type { TrainingData, TrainingItem } from './train-types.js';
import { shuffle, type Rng } from './prng.js';

export interface PreparedItem {
  id: string;
  r: Float32Array;
  base: Float32Array;
  ctx: Float32Array[]; // context rows in time order
  labels: Uint8Array;
  /**
   * Out-of-fold correction for training items: (cold embedding from an aligner
   * that never saw this item) − (in-sample aligned embedding). Added to the
   * start of adaptation during meta-training so the rule learns from starts as
   * wrong as real emerging items' are; zero for validation items.
   */
  delta?: Float32Array;
}

export function prepareItems(data: TrainingData): PreparedItem[] {
  return data.items.map((it: TrainingItem) => {
    if (it.base.length !== data.dim) throw new Error(`item ${it.id}: base has ${it.base.length} dims, expected ${data.dim}`);
    // Stable sort: equal timestamps keep their input order, so results are reproducible.
    const order = it.interactions.map((x, i) => [x, i] as const).sort((a, b) => a[0].ts - b[0].ts || a[1] - b[1]);
    return {
      id: it.id,
      r: it.r,
      base: it.base,
      ctx: order.map(([x]) => {
        const row = data.contexts[x.ctx];
        if (!row) throw new Error(`item ${it.id}: interaction refers to missing context ${x.ctx}`);
        return row;
      }),
      labels: Uint8Array.from(order.map(([x]) => x.label)),
    };
  });
}

/** Seeded split; validation gets `fraction` of items (none when too few to spare). */
export function splitItems(items: PreparedItem[], fraction: number, rng: Rng): { train: PreparedItem[]; val: PreparedItem[] } {
  const idx = shuffle(
    items.map((_, i) => i),
    rng,
  );
  const nVal = items.length >= 8 ? Math.max(2, Math.round(items.length * fraction)) : 0;
  const isVal = new Set(idx.slice(0, nVal));
  // both keep the input order
  return { train: items.filter((_, i) => !isVal.has(i)), val: items.filter((_, i) => isVal.has(i)) };
}

export interface PhaseBatch {
  B: number;
  n: number; // support size p·K
  q: number; // query size
  r: Float32Array; // [B, inputDim]
  base: Float32Array; // [B, dim]
  delta: Float32Array; // [B, dim]
  cs: Float32Array; // [B, n, ctxDim]
  ys: Float32Array; // [B, n]
  cq: Float32Array; // [B, q, ctxDim]
  yq: Float32Array; // [B, q]
}

export function eligible(items: PreparedItem[], n: number, q: number): PreparedItem[] {
  return items.filter((it) => it.ctx.length >= n + q);
}

export function phaseBatch(items: PreparedItem[], n: number, q: number, ctxDim: number): PhaseBatch {
  const B = items.length;
  const inputDim = items[0]?.r.length ?? 0;
  const dim = items[0]?.base.length ?? 0;
  const b: PhaseBatch = {
    B,
    n,
    q,
    r: new Float32Array(B * inputDim),
    base: new Float32Array(B * dim),
    delta: new Float32Array(B * dim),
    cs: new Float32Array(B * n * ctxDim),
    ys: new Float32Array(B * n),
    cq: new Float32Array(B * q * ctxDim),
    yq: new Float32Array(B * q),
  };
  items.forEach((it, i) => {
    if (it.ctx.length < n + q)
      throw new Error(`phaseBatch: item ${it.id} has ${it.ctx.length} interactions, needs ${n} + ${q} (see eligible)`);
    b.r.set(it.r, i * inputDim);
    b.base.set(it.base, i * dim);
    if (it.delta) b.delta.set(it.delta, i * dim);
    it.ctx.slice(0, n).forEach((c, j) => b.cs.set(c, (i * n + j) * ctxDim));
    b.ys.set(it.labels.subarray(0, n), i * n);
    it.ctx.slice(n, n + q).forEach((c, j) => b.cq.set(c, (i * q + j) * ctxDim));
    b.yq.set(it.labels.subarray(n, n + q), i * q);
  });
  return b;
}

/**
 * Up to `cap` interactions per item (a fresh random subset each call), padded
 * to [items, cap] with a 0/1 mask. Dense padding instead of a gather because
 * gather's gradient needs a kernel the wasm backend lacks.
 */
export function sampledInteractions(
  items: PreparedItem[],
  cap: number,
  ctxDim: number,
  rng: Rng,
): { ctx: Float32Array; y: Float32Array; mask: Float32Array; L: number } {
  const L = Math.max(1, Math.min(cap, Math.max(...items.map((it) => it.ctx.length))));
  const out = {
    ctx: new Float32Array(items.length * L * ctxDim),
    y: new Float32Array(items.length * L),
    mask: new Float32Array(items.length * L),
    L,
  };
  items.forEach((it, i) => {
    const n = it.ctx.length;
    const pick = n <= L ? [...Array(n).keys()] : shuffle([...Array(n).keys()], rng).slice(0, L);
    // j < n: an index into ctx and labels, which are the same length
    pick.forEach((j, slot) => {
      out.ctx.set(it.ctx[j]!, (i * L + slot) * ctxDim);
      out.y[i * L + slot] = it.labels[j]!;
      out.mask[i * L + slot] = 1;
    });
  });
  return out;
}
