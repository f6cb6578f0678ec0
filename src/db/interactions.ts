// Interaction events. The client's event id is the idempotency key: an event sent
// twice is stored once and counted once.
import type { Queryable } from './pool.js';

export interface EventIn { id: string; userId: string; itemId: string; label: 0 | 1; ts: Date }

/** Inserts new events; returns how many were new per item id. */
export async function insertEvents(db: Queryable, spaceId: string, events: EventIn[]): Promise<Map<string, number>> {
  const perItem = new Map<string, number>();
  if (events.length === 0) return perItem;
  const r = await db.query<{ item_id: string; n: number }>(
    `WITH ins AS (
       INSERT INTO interactions (space_id, event_id, user_id, item_id, label, ts)
       SELECT $1, e.id, e.user_id, e.item_id, e.label, e.ts
       FROM unnest($2::text[], $3::text[], $4::text[], $5::smallint[], $6::timestamptz[]) AS e(id, user_id, item_id, label, ts)
       ON CONFLICT (space_id, event_id) DO NOTHING
       RETURNING item_id)
     SELECT item_id, count(*)::int AS n FROM ins GROUP BY item_id`,
    [spaceId, events.map((e) => e.id), events.map((e) => e.userId), events.map((e) => e.itemId), events.map((e) => e.label), events.map((e) => e.ts)],
  );
  for (const row of r.rows) perItem.set(row.item_id, row.n);
  return perItem;
}

export interface ItemEvent { userId: string; label: 0 | 1; ts: Date }

/** An item's interactions in time order (event id breaks ties, so replays are stable). */
export async function itemEvents(db: Queryable, spaceId: string, itemId: string): Promise<ItemEvent[]> {
  const r = await db.query<ItemEvent>(
    `SELECT user_id AS "userId", label, ts FROM interactions WHERE space_id = $1 AND item_id = $2 ORDER BY ts, event_id`,
    [spaceId, itemId],
  );
  return r.rows;
}

/** All interactions of established items, for training. */
export async function establishedEvents(db: Queryable, spaceId: string): Promise<{ itemId: string; userId: string; label: 0 | 1; ts: Date }[]> {
  const r = await db.query<{ itemId: string; userId: string; label: 0 | 1; ts: Date }>(
    `SELECT x.item_id AS "itemId", x.user_id AS "userId", x.label, x.ts
     FROM interactions x JOIN items i ON i.space_id = x.space_id AND i.id = x.item_id
     WHERE x.space_id = $1 AND i.state = 'established' ORDER BY x.item_id, x.ts, x.event_id`,
    [spaceId],
  );
  return r.rows;
}
