// Interaction events. The client's event id is the idempotency key: an event sent
// twice is stored once and counted once.
import type { Queryable } from './pool.js';
import { ASK_AGAIN, TASKS_CHANNEL } from './tasks.js';

export interface EventIn {
  id: string;
  userId: string;
  itemId: string;
  label: 0 | 1;
  ts: Date;
}

/**
 * Stores new events, counts them on their items and asks for a refinement of each emerging
 * item they touched — one statement, so the item and task rows it locks (in id order) are
 * held only while Postgres runs it. Event pipelines send many overlapping batches at once;
 * locks held across round trips would queue them behind each other. Returns the ids of the
 * events that were new. (pipeline/record-events.ts is the step; the statement is here because it is SQL.)
 */
export async function recordEventsStatement(
  db: Queryable,
  spaceId: string,
  events: EventIn[],
  requestId: string | undefined,
): Promise<Set<string>> {
  if (events.length === 0) return new Set();
  const r = await db.query<{ accepted: string[] | null }>(
    `WITH ins AS (
       INSERT INTO interactions (space_id, event_id, user_id, item_id, label, ts)
       SELECT $1, e.id, e.user_id, e.item_id, e.label, e.ts
       FROM unnest($2::text[], $3::text[], $4::text[], $5::smallint[], $6::timestamptz[]) AS e(id, user_id, item_id, label, ts)
       ORDER BY e.id COLLATE "C"
       ON CONFLICT (space_id, event_id) DO NOTHING
       RETURNING event_id, item_id),
     per AS (SELECT item_id, count(*)::int AS n FROM ins GROUP BY item_id),
     lk AS (SELECT i.id FROM items i JOIN per ON per.item_id = i.id WHERE i.space_id = $1 ORDER BY i.id COLLATE "C" FOR NO KEY UPDATE OF i),
     upd AS (
       UPDATE items i SET interactions = i.interactions + per.n
       FROM per JOIN lk ON lk.id = per.item_id
       WHERE i.space_id = $1 AND i.id = per.item_id
       RETURNING i.id, i.state),
     asked AS (
       INSERT INTO tasks (queue, key, payload)
       SELECT 'refine', $1 || '/' || upd.id, jsonb_strip_nulls(jsonb_build_object('space', $1::text, 'item', upd.id, 'requestId', $7::text))
       FROM upd WHERE upd.state <> 'established' ORDER BY ($1 || '/' || upd.id) COLLATE "C"
       ${ASK_AGAIN}
       RETURNING 1)
     SELECT (SELECT array_agg(event_id) FROM ins) AS accepted,
            CASE WHEN EXISTS (SELECT 1 FROM asked) THEN pg_notify('${TASKS_CHANNEL}', 'refine') END AS notified`,
    [
      spaceId,
      events.map((e) => e.id),
      events.map((e) => e.userId),
      events.map((e) => e.itemId),
      events.map((e) => e.label),
      events.map((e) => e.ts),
      requestId ?? null,
    ],
  );
  return new Set(r.rows[0]?.accepted ?? []);
}

/** All interactions of established items, for training. */
export async function establishedEvents(
  db: Queryable,
  spaceId: string,
): Promise<{ itemId: string; userId: string; label: 0 | 1; ts: Date }[]> {
  const r = await db.query<{ itemId: string; userId: string; label: 0 | 1; ts: Date }>(
    `SELECT x.item_id AS "itemId", x.user_id AS "userId", x.label, x.ts
     FROM interactions x JOIN items i ON i.space_id = x.space_id AND i.id = x.item_id
     WHERE x.space_id = $1 AND i.state = 'established' ORDER BY x.item_id, x.ts, x.event_id`,
    [spaceId],
  );
  return r.rows;
}
