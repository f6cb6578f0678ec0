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
 * locks held across round trips would queue them behind each other. Interactions belong to
 * the space, so the statement writes them into every version it follows (migration 007,
 * emerflow_write_targets). With `quality`, each new event of an emerging item that has a served
 * embedding (or a sample of them) also leaves, in the same statement, what the live quality monitor scores it with
 * (migration 008): the embedding served at arrival, before this event could refine it.
 * Returns the ids of the events that were new.
 * Postgres plans it on every call, so each join is kept small: `lk` carries each item's count
 * into `upd`, `upd` returns it, and `scored` reads the served embedding straight from `items`
 * and `embeddings` by the event's item. The earlier form joined `per` again in both and a
 * `served` CTE that was inlined into `scored`: one join problem of six relations, ~4 ms of
 * planning a batch of 50 events, as long as running it (0.8 ms now). Marking CTEs MATERIALIZED
 * instead cut the planning too, but left joins between CTE scans, which the planner ran as
 * nested loops over merged batches of thousands of events (5,000 events/s: 285 items/s refined).
 * (pipeline/record-events.ts is the step; the statement is here because it is SQL.)
 */
export async function recordEventsStatement(
  db: Queryable,
  space: string,
  events: EventIn[],
  opts: { requestId: string | undefined; quality: boolean; qualitySamplePercent?: number },
): Promise<Set<string>> {
  if (events.length === 0) return new Set();
  const r = await db.query<{ accepted: string[] | null }>(
    `WITH t AS (SELECT sid FROM emerflow_write_target_rows($1) AS sid),
     ins AS (
       INSERT INTO interactions (space_id, event_id, user_id, item_id, label, ts)
       SELECT t.sid, e.id, e.user_id, e.item_id, e.label, e.ts
       FROM t CROSS JOIN unnest($2::text[], $3::text[], $4::text[], $5::smallint[], $6::timestamptz[]) AS e(id, user_id, item_id, label, ts)
       ORDER BY t.sid COLLATE "C", e.id COLLATE "C"
       ON CONFLICT (space_id, event_id) DO NOTHING
       RETURNING space_id, event_id, item_id, user_id, label, ts),
     per AS (SELECT space_id, item_id, count(*)::int AS n FROM ins GROUP BY space_id, item_id),
     lk AS (SELECT i.space_id, i.id, per.n FROM items i JOIN per ON per.space_id = i.space_id AND per.item_id = i.id
            ORDER BY i.space_id COLLATE "C", i.id COLLATE "C" FOR NO KEY UPDATE OF i),
     upd AS (
       UPDATE items i SET interactions = i.interactions + lk.n
       FROM lk WHERE i.space_id = lk.space_id AND i.id = lk.id
       RETURNING i.space_id, i.id, i.state, i.interactions, lk.n),
     asked AS (
       INSERT INTO tasks (queue, key, payload)
       SELECT 'refine', upd.space_id || '/' || upd.id,
              jsonb_strip_nulls(jsonb_build_object('space', upd.space_id, 'item', upd.id, 'requestId', $7::text))
       FROM upd WHERE upd.state <> 'established' ORDER BY (upd.space_id || '/' || upd.id) COLLATE "C"
       ${ASK_AGAIN}
       RETURNING 1),
     -- prior: the item's count before this statement, plus the new events ahead of it here.
     -- What was served when the events arrived: the items as this statement's snapshot has them
     -- (si, not as upd returns them after waiting for their locks: a refinement that committed in
     -- between is not what these events were served, and its embedding row is not in the snapshot).
     scored AS (
       INSERT INTO quality_pending (space_id, event_id, user_id, label, prior, served, cold)
       SELECT ins.space_id, ins.event_id, ins.user_id, ins.label,
              upd.interactions - upd.n
                + (row_number() OVER (PARTITION BY ins.space_id, ins.item_id ORDER BY ins.ts, ins.event_id COLLATE "C"))::int - 1,
              e.vector, si.cold_vector
       FROM ins
       JOIN upd ON upd.space_id = ins.space_id AND upd.id = ins.item_id
       JOIN items si ON si.space_id = ins.space_id AND si.id = ins.item_id
       JOIN embeddings e ON e.space_id = si.space_id AND e.item_id = si.id AND e.version = si.embedding_version
       -- a sample by event id (QUALITY_SAMPLE_PERCENT): the same events whoever writes them, and a resend stays out
       WHERE $8::boolean AND si.state <> 'established' AND upd.state <> 'established'
         AND ($9::int >= 100 OR abs(hashtext(ins.event_id)) % 100 < $9)
       RETURNING 1)
     SELECT (SELECT array_agg(DISTINCT event_id) FROM ins) AS accepted,
            CASE WHEN EXISTS (SELECT 1 FROM asked) THEN pg_notify('${TASKS_CHANNEL}', 'refine') END AS notified`,
    [
      space,
      events.map((e) => e.id),
      events.map((e) => e.userId),
      events.map((e) => e.itemId),
      events.map((e) => e.label),
      events.map((e) => e.ts),
      opts.requestId ?? null,
      opts.quality,
      opts.qualitySamplePercent ?? 100,
    ],
  );
  return new Set(r.rows[0]?.accepted ?? []);
}

/** All interactions of established items, for training, in the order model/training-data.ts assembles them. */
export async function establishedEvents(
  db: Queryable,
  spaceId: string,
): Promise<{ itemId: string; userId: string; label: 0 | 1; ts: Date }[]> {
  const r = await db.query<{ itemId: string; userId: string; label: 0 | 1; ts: Date }>(
    `SELECT x.item_id AS "itemId", x.user_id AS "userId", x.label, x.ts
     FROM interactions x JOIN items i ON i.space_id = x.space_id AND i.id = x.item_id
     WHERE x.space_id = $1 AND i.state = 'established' ORDER BY x.item_id COLLATE "C", x.ts, x.event_id COLLATE "C"`,
    [spaceId],
  );
  return r.rows;
}
