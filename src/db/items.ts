// Items: raw features, content hash, pipeline state, enrichment.
import type { ItemState } from '../api/schemas.js';
import type { Queryable } from './pool.js';

export type { ItemState };

export interface ItemIn {
  id: string;
  features: Record<string, unknown>;
  contentHash: string;
  established: boolean;
}
export interface ItemRow {
  id: string;
  state: ItemState;
  features: Record<string, unknown>;
  contentHash: string;
  enrichment: Record<string, unknown> | null;
  enrichmentHash: string | null;
  enrichError: string | null;
  interactions: number;
  embeddingVersion: number | null;
}

const COLS = `id, state, features, content_hash AS "contentHash", enrichment, enrichment_hash AS "enrichmentHash",
  enrich_error AS "enrichError", interactions, embedding_version AS "embeddingVersion"`;

/**
 * Inserts new items and updates those whose content hash changed; identical content is
 * left alone. Returns the ids actually written: with a new base vector (established),
 * emerging ones (the pipeline runs), and established ones whose features alone changed.
 * `items` must have unique ids.
 */
export async function upsertItems(
  db: Queryable,
  spaceId: string,
  items: ItemIn[],
): Promise<{ established: string[]; emerging: string[]; featuresOnly: string[] }> {
  const out = { established: [] as string[], emerging: [] as string[], featuresOnly: [] as string[] };
  if (items.length === 0) return out;
  const r = await db.query<{ id: string; state: ItemState }>(
    `INSERT INTO items (space_id, id, features, content_hash, state)
     SELECT $1, t.id, t.features, t.hash, CASE WHEN t.established THEN 'established' ELSE 'received' END
     FROM unnest($2::text[], $3::jsonb[], $4::text[], $5::boolean[]) AS t(id, features, hash, established)
     ORDER BY t.id COLLATE "C" -- the one lock order for item rows (docs/DESIGN.md, "Locks")
     ON CONFLICT (space_id, id) DO UPDATE
       SET features = EXCLUDED.features, content_hash = EXCLUDED.content_hash, updated_at = now(), rev = items.rev + 1,
           -- an emerging item keeps serving its current embedding while the pipeline re-runs;
           -- an established item updated without a vector keeps its base embedding
           state = CASE WHEN EXCLUDED.state = 'established' THEN 'established' ELSE items.state END
       WHERE items.content_hash <> EXCLUDED.content_hash
     RETURNING id, state`,
    [
      spaceId,
      items.map((i) => i.id),
      items.map((i) => JSON.stringify(i.features)),
      items.map((i) => i.contentHash),
      items.map((i) => i.established),
    ],
  );
  const withVector = new Set(items.filter((i) => i.established).map((i) => i.id));
  for (const row of r.rows) {
    if (withVector.has(row.id)) out.established.push(row.id);
    else if (row.state !== 'established') out.emerging.push(row.id);
    else out.featuresOnly.push(row.id);
  }
  return out;
}

export async function getItem(db: Queryable, spaceId: string, id: string): Promise<ItemRow | null> {
  const r = await db.query<ItemRow>(`SELECT ${COLS} FROM items WHERE space_id = $1 AND id = $2`, [spaceId, id]);
  return r.rows[0] ?? null;
}

/** Counts interactions that arrived before the item itself did. */
export async function recountInteractions(db: Queryable, spaceId: string, ids: string[]): Promise<void> {
  if (ids.length === 0) return;
  await db.query(
    `UPDATE items i SET interactions = (SELECT count(*) FROM interactions x WHERE x.space_id = i.space_id AND x.item_id = i.id)
     WHERE i.space_id = $1 AND i.id = ANY($2::text[])`,
    [spaceId, ids],
  );
}

export async function setEnrichment(
  db: Queryable,
  spaceId: string,
  id: string,
  forHash: string,
  enrichment: Record<string, unknown>,
): Promise<{ state: string } | null> {
  const r = await db.query<{ state: string }>(
    `UPDATE items SET enrichment = $4, enrichment_hash = $3, enrich_error = NULL, updated_at = now(), rev = rev + 1,
       state = CASE WHEN state = 'received' THEN 'enriched' ELSE state END
     WHERE space_id = $1 AND id = $2 AND content_hash = $3
     RETURNING state`,
    [spaceId, id, forHash, JSON.stringify(enrichment)],
  );
  return r.rows[0] ?? null;
}

export async function setEnrichError(db: Queryable, spaceId: string, id: string, message: string): Promise<void> {
  await db.query('UPDATE items SET enrich_error = $3 WHERE space_id = $1 AND id = $2', [spaceId, id, message.slice(0, 500)]);
}

export async function emergingItemIds(db: Queryable, spaceId: string): Promise<string[]> {
  const r = await db.query<{ id: string }>(`SELECT id FROM items WHERE space_id = $1 AND state <> 'established'`, [spaceId]);
  return r.rows.map((x) => x.id);
}

/**
 * Emerging items whose cold embedding is not from `modelId` and that have no embed task
 * (missed by a re-embed). Items with a task, dead ones included, are left to it.
 */
export async function emergingNotFromModel(db: Queryable, spaceId: string, modelId: number, limit: number): Promise<string[]> {
  const r = await db.query<{ id: string }>(
    // EXCEPT, not NOT EXISTS: right after an activation added an embed task for every emerging
    // item, the planner's statistics of `tasks` may still say it is empty, and a nested loop over
    // it then scans the table once per item (measured: past the 60 s statement timeout at 100,000
    // items). A set difference costs one pass over each side whatever the statistics say.
    `(SELECT i.id FROM items i WHERE i.space_id = $1 AND i.state <> 'established' AND i.cold_model IS DISTINCT FROM $2
      EXCEPT
      SELECT substr(t.key, length($1) + 2) FROM tasks t WHERE t.queue = 'embed' AND starts_with(t.key, $1 || '/'))
     LIMIT $3`,
    [spaceId, modelId, limit],
  );
  return r.rows.map((x) => x.id);
}

/** An item as the embed and refine steps read it: what it is made of, where it stands, its recent events. */
export interface PipelineItem {
  id: string;
  incarnation: number;
  rev: number;
  state: ItemState;
  features: Record<string, unknown>;
  contentHash: string;
  enrichment: Record<string, unknown> | null;
  enrichmentHash: string | null;
  coldVector: Buffer | null;
  coldModel: number | null;
  coldRev: number | null;
  /** items.interactions as read together with `events`: the event watermark of what is computed from them */
  watermark: number;
  embWatermark: number;
  /** the most recent events (at most the limit asked for), oldest first */
  events: { userId: string; label: 0 | 1 }[];
}

/**
 * Loads items with their most recent `maxEvents` events in one statement, so the events
 * and the watermark come from one snapshot.
 */
export async function loadPipelineItems(
  db: Queryable,
  spaceId: string,
  ids: string[],
  maxEvents: number,
): Promise<Map<string, PipelineItem>> {
  const out = new Map<string, PipelineItem>();
  if (ids.length === 0) return out;
  const r = await db.query<Omit<PipelineItem, 'events'> & { users: string[] | null; labels: number[] | null }>(
    `SELECT i.id, i.incarnation::float8 AS incarnation, i.rev, i.state, i.features, i.content_hash AS "contentHash",
       i.enrichment, i.enrichment_hash AS "enrichmentHash", i.cold_vector AS "coldVector", i.cold_model::int AS "coldModel",
       i.cold_rev AS "coldRev", i.interactions AS watermark, i.emb_watermark AS "embWatermark", ev.users, ev.labels
     FROM items i
     LEFT JOIN LATERAL (
       SELECT array_agg(z.user_id ORDER BY z.ts, z.event_id) AS users, array_agg(z.label ORDER BY z.ts, z.event_id) AS labels
       FROM (SELECT x.user_id, x.label, x.ts, x.event_id FROM interactions x
             WHERE x.space_id = i.space_id AND x.item_id = i.id ORDER BY x.ts DESC, x.event_id DESC LIMIT $3) z
     ) ev ON true
     WHERE i.space_id = $1 AND i.id = ANY($2::text[])`,
    [spaceId, ids, maxEvents],
  );
  for (const { users, labels, ...row } of r.rows) {
    const events = (users ?? []).map((userId, k) => ({ userId, label: (labels![k] === 1 ? 1 : 0) as 0 | 1 }));
    out.set(row.id, { ...row, events });
  }
  return out;
}

export async function itemsForTraining(
  db: Queryable,
  spaceId: string,
  established: boolean,
): Promise<
  {
    id: string;
    features: Record<string, unknown>;
    enrichment: Record<string, unknown> | null;
    contentHash: string;
    enrichmentHash: string | null;
  }[]
> {
  const r = await db.query(
    `SELECT id, features, enrichment, content_hash AS "contentHash", enrichment_hash AS "enrichmentHash"
     FROM items WHERE space_id = $1 AND (state = 'established') = $2 ORDER BY id COLLATE "C"`,
    [spaceId, established],
  );
  return r.rows;
}

/** After the auxiliary-feature list changed: emerging items need enriching again. */
/** The items to enrich again with a new list of auxiliary features: the emerging ones, and the established ones when they are enriched. */
export async function itemsForReenrichment(
  db: Queryable,
  spaceId: string,
  established: boolean,
): Promise<{ id: string; contentHash: string }[]> {
  const r = await db.query<{ id: string; contentHash: string }>(
    `SELECT id, content_hash AS "contentHash" FROM items WHERE space_id = $1 AND ($2 OR state <> 'established')`,
    [spaceId, established],
  );
  return r.rows;
}

/**
 * Forgets an item: its row, vectors and embeddings (ON DELETE CASCADE) and its interactions.
 * False when there was no such item.
 */
export async function deleteItem(db: Queryable, spaceId: string, id: string): Promise<boolean> {
  const r = await db.query(`DELETE FROM items WHERE space_id = $1 AND id = $2`, [spaceId, id]);
  if (!r.rowCount) return false;
  await db.query(`DELETE FROM interactions WHERE space_id = $1 AND item_id = $2`, [spaceId, id]);
  return true;
}
