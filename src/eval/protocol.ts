// The warm-up split used by MetaEmb, MWUF, CVAR and EmerG (CVAR/EmerG `split_2(df, N=200, K=20)`).
import type { Dataset, Interaction } from './dataset/types.js';

export interface Row {
  user: number;
  item: number;
  label: 0 | 1;
  ts: number;
}
export interface Split {
  hotThreshold: number;
  k: number;
  /** item numbers (Dataset: index in items + 1) */
  established: number[];
  emerging: number[];
  trainBase: Row[];
  /** warm[0..2] = warm-a, warm-b, warm-c */
  warm: [Row[], Row[], Row[]];
  test: Row[];
  dropped: number;
}

const toRow = (r: Interaction): Row => ({ user: r.user, item: r.item, label: r.label, ts: r.ts });

/**
 * Items with more than `hot` interactions are established; items with 3k..hot are emerging, and
 * their interactions sorted by time (ties: file order, so the split is deterministic) give k for
 * each warm set and the rest for test; the rest is dropped.
 */
export function warmUpSplit(ds: Dataset, hot = 200, k = 20): Split {
  const byItem = new Map<number, Interaction[]>();
  for (const r of ds.interactions) {
    const list = byItem.get(r.item);
    if (list) list.push(r);
    else byItem.set(r.item, [r]);
  }
  const established: number[] = [];
  const emerging: number[] = [];
  const trainBase: Row[] = [];
  const warm: [Row[], Row[], Row[]] = [[], [], []];
  const test: Row[] = [];
  let dropped = 0;
  for (const item of [...byItem.keys()].sort((a, b) => a - b)) {
    const rs = byItem.get(item)!;
    if (rs.length > hot) {
      established.push(item);
      for (const r of rs) trainBase.push(toRow(r));
    } else if (rs.length >= 3 * k) {
      emerging.push(item);
      const sorted = [...rs].sort((a, b) => a.ts - b.ts || a.order - b.order);
      sorted.forEach((r, i) => (i < 3 * k ? warm[Math.floor(i / k)]! : test).push(toRow(r)));
    } else dropped += 1;
  }
  trainBase.sort((a, b) => a.ts - b.ts);
  return { hotThreshold: hot, k, established, emerging, trainBase, warm, test, dropped };
}

/** Keep only a subset of emerging items (for quick runs and tests); established items are untouched. */
export function sliceEmerging(split: Split, maxEmerging: number): Split {
  if (maxEmerging >= split.emerging.length) return split;
  const keep = new Set(split.emerging.slice(0, maxEmerging));
  const f = (rows: Row[]) => rows.filter((r) => keep.has(r.item));
  return { ...split, emerging: [...keep], warm: [f(split.warm[0]), f(split.warm[1]), f(split.warm[2])], test: f(split.test) };
}

/** Keep every `stride`-th established rating (tests only: shrinks meta-training, keeps every established item). */
export function thinBase(split: Split, stride: number): Split {
  return stride <= 1 ? split : { ...split, trainBase: split.trainBase.filter((_, i) => i % stride === 0) };
}
