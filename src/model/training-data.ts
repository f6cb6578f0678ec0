// The one way training data is assembled from a space's records — by the service's training
// job (from Postgres) and by the offline eval (from a dataset) alike — so that the same
// records give the same TrainingData, down to the order of items, context rows and
// interactions, and hence (same seed, same backend) the same model. The replay through the
// API (src/replay) relies on it to reproduce the eval's numbers.
import type { TrainingData, TrainingItem } from './train-types.js';

export interface TrainingRecords {
  dim: number;
  /** established items with their encoded text `r` and base vectors, in id order (code units, as COLLATE "C") */
  items: { id: string; r: Float32Array; base: Float32Array }[];
  /** the items' events, ordered by item id, then time, then event id (the same code-unit order) */
  events: { itemId: string; userId: string; label: 0 | 1; ts: number }[];
  /** the recommender's user vectors: events of users without one are left out */
  users: ReadonlyMap<string, Float32Array>;
}

/** Context rows in order of first use; each item's interactions in event order. `used`: events kept. */
export function assembleTrainingData(rec: TrainingRecords): { data: TrainingData; used: number } {
  const userIndex = new Map<string, number>();
  const contexts: Float32Array[] = [];
  const byItem = new Map<string, TrainingItem['interactions']>();
  let used = 0;
  for (const e of rec.events) {
    const u = rec.users.get(e.userId);
    if (!u) continue;
    let idx = userIndex.get(e.userId);
    if (idx === undefined) {
      idx = contexts.length;
      contexts.push(u);
      userIndex.set(e.userId, idx);
    }
    let list = byItem.get(e.itemId);
    if (!list) byItem.set(e.itemId, (list = []));
    list.push({ ctx: idx, label: e.label, ts: e.ts });
    used++;
  }
  const items: TrainingItem[] = rec.items.map((it) => ({ id: it.id, r: it.r, base: it.base, interactions: byItem.get(it.id) ?? [] }));
  return { data: { dim: rec.dim, items, contexts }, used };
}

/** Code-unit string order: what Postgres's COLLATE "C" gives for the ids the service stores. */
export const byCodeUnits = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
