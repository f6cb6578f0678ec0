// Items' recent events joined with the users' vectors, in time order: the input of
// refinement. One query for the users of a whole batch. Events of users the recommender
// has no vector for cannot be scored and are left out (and not counted as used).
import type { Queryable } from '../db/pool.js';
import type { PipelineItem } from '../db/items.js';
import { getUserVectors } from '../db/users.js';

export type Scored = { ctx: Float32Array; label: 0 | 1 }[];

export async function scoredInteractions(db: Queryable, space: string, items: PipelineItem[]): Promise<Map<string, Scored>> {
  const userIds = new Set<string>();
  for (const it of items) for (const e of it.events) userIds.add(e.userId);
  const users = await getUserVectors(db, space, [...userIds]);
  const out = new Map<string, Scored>();
  for (const it of items) {
    const scored: Scored = [];
    for (const e of it.events) {
      const u = users.get(e.userId);
      if (u) scored.push({ ctx: u, label: e.label });
    }
    out.set(it.id, scored);
  }
  return out;
}
