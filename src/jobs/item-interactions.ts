// An item's interactions joined with the users' vectors, in time order: the input of
// refinement. Events of users the recommender has no vector for cannot be scored and
// are left out (and not counted as used).
import type { Queryable } from '../db/pool.js';
import { itemEvents } from '../db/interactions.js';
import { getUserVectors } from '../db/users.js';

export async function scoredInteractions(db: Queryable, space: string, itemId: string): Promise<{ ctx: Float32Array; label: 0 | 1 }[]> {
  const events = await itemEvents(db, space, itemId);
  if (events.length === 0) return [];
  const users = await getUserVectors(db, space, [...new Set(events.map((e) => e.userId))]);
  const out: { ctx: Float32Array; label: 0 | 1 }[] = [];
  for (const e of events) {
    const u = users.get(e.userId);
    if (u) out.push({ ctx: u, label: e.label });
  }
  return out;
}
