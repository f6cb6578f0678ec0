// Embedding versions. Rows are appended; items.embedding_version points at the newest,
// which is what lookups serve; older versions beyond the newest few are pruned.
// The pipeline's writes are guarded: each commits only if what its job read is still
// current (docs/DESIGN.md, "Guarded writes"); a write that is not is dropped, and the
// returned rows say which were written.
import type { Queryable } from './pool.js';
import type { ItemState } from './items.js';
import { fromBytes, toBytes } from './vectors.js';

export type EmbeddingKind = 'base' | 'cold' | 'refined' | 'mapped';
export interface EmbeddingRow {
  id: string;
  vector: Float32Array;
  version: number;
  kind: EmbeddingKind;
  interactions: number;
  modelVersion: number | null;
  updatedAt: Date;
}

/** Writes a new version for each item in one statement and moves the items to `state` (unguarded: base vectors). */
export async function appendEmbeddings(
  db: Queryable,
  spaceId: string,
  kind: EmbeddingKind,
  state: ItemState,
  rows: { id: string; vector: ArrayLike<number>; interactions?: number; modelId?: number | null }[],
): Promise<{ id: string; version: number }[]> {
  if (rows.length === 0) return [];
  const r = await db.query<{ id: string; version: number }>(
    `WITH b AS (SELECT * FROM unnest($3::text[], $4::bytea[], $5::int[], $6::bigint[]) AS t(id, vec, n, model_id)),
     upd AS (
       UPDATE items i SET embedding_version = coalesce(i.embedding_version, 0) + 1, state = $2, updated_at = now()
       FROM b WHERE i.space_id = $1 AND i.id = b.id
       RETURNING i.id, i.embedding_version)
     INSERT INTO embeddings (space_id, item_id, version, kind, vector, interactions, model_id)
     SELECT $1, upd.id, upd.embedding_version, $7, b.vec, b.n, b.model_id FROM upd JOIN b ON b.id = upd.id
     RETURNING item_id AS id, version`,
    [
      spaceId,
      state,
      rows.map((x) => x.id),
      rows.map((x) => toBytes(x.vector)),
      rows.map((x) => x.interactions ?? 0),
      rows.map((x) => x.modelId ?? null),
      kind,
    ],
  );
  return r.rows;
}

/** The newest embedding of each id, in one query. */
// What an item serves: its newest version, with the model that made it.
const SERVED = `SELECT i.id, e.vector, e.version, e.kind, e.interactions, m.version AS "modelVersion", e.created_at AS "updatedAt"
     FROM items i
     JOIN embeddings e ON e.space_id = i.space_id AND e.item_id = i.id AND e.version = i.embedding_version
     LEFT JOIN models m ON m.id = e.model_id`;

async function served(db: Queryable, sql: string, params: unknown[]): Promise<EmbeddingRow[]> {
  const r = await db.query<Omit<EmbeddingRow, 'vector'> & { vector: Buffer }>(sql, params);
  return r.rows.map((row) => ({ ...row, vector: fromBytes(row.vector) }));
}

export async function latestEmbeddings(db: Queryable, spaceId: string, ids: string[]): Promise<EmbeddingRow[]> {
  if (ids.length === 0) return [];
  return served(db, `${SERVED} WHERE i.space_id = $1 AND i.id = ANY($2::text[])`, [spaceId, ids]);
}

/** What identifies the embedding each id serves now (its version and when it was written), without the vectors. */
export interface ServedStamp {
  id: string;
  version: number;
  updatedAt: Date;
}

/** The stamps of what `ids` serve, in one query (an id serving nothing has none): checking a cached entry costs no vector. */
export async function servedStamps(db: Queryable, spaceId: string, ids: string[]): Promise<ServedStamp[]> {
  if (ids.length === 0) return [];
  const r = await db.query<ServedStamp>(
    `SELECT i.id, e.version, e.created_at AS "updatedAt"
     FROM items i
     JOIN embeddings e ON e.space_id = i.space_id AND e.item_id = i.id AND e.version = i.embedding_version
     WHERE i.space_id = $1 AND i.id = ANY($2::text[])`,
    [spaceId, ids],
  );
  return r.rows;
}

/** A page of a space's served embeddings in id order, after `afterId` (keyset pagination: one index range a page). */
export async function servedEmbeddingsPage(db: Queryable, spaceId: string, afterId: string, limit: number): Promise<EmbeddingRow[]> {
  return served(db, `${SERVED} WHERE i.space_id = $1 AND i.id > $2 ORDER BY i.id LIMIT $3`, [spaceId, afterId, limit]);
}

/** Base embeddings of established items, for training. */
export async function baseEmbeddings(db: Queryable, spaceId: string): Promise<Map<string, Float32Array>> {
  const r = await db.query<{ id: string; vector: Buffer }>(
    `SELECT i.id, e.vector FROM items i
     JOIN embeddings e ON e.space_id = i.space_id AND e.item_id = i.id AND e.version = i.embedding_version
     WHERE i.space_id = $1 AND i.state = 'established' AND e.kind = 'base'`,
    [spaceId],
  );
  return new Map(r.rows.map((row) => [row.id, fromBytes(row.vector)]));
}

/** What an embed or refine job read of one item, to be still current when it writes. */
export interface ReadStamp {
  id: string;
  incarnation: number;
  rev: number;
  watermark: number;
}

// Each write below is one statement, so the rows it locks are held only while Postgres runs
// it, never across a round trip: it takes the space's active model FOR SHARE (a model being
// activated waits for it, and it writes nothing for a model no longer active), locks the
// item rows in id order, writes the guarded versions, and prunes versions beyond the newest
// `keep` of each item it wrote (the served one is never among them: lookups see no gap).
const GUARD_PRELUDE = `
  m AS (SELECT 1 FROM spaces WHERE id = $1 AND active_model = $2 FOR SHARE),
  lk AS (SELECT i.id FROM items i WHERE i.space_id = $1 AND i.id = ANY($3::text[]) AND EXISTS (SELECT 1 FROM m)
         ORDER BY i.id COLLATE "C" FOR NO KEY UPDATE)`;
const PRUNE_AND_RETURN = `
  pr AS (DELETE FROM embeddings e USING ins WHERE e.space_id = $1 AND e.item_id = ins.id AND e.version <= ins.version - $4)
  SELECT id, version FROM ins`;

/** $1–$7 of both writes: the space, the model, the ids, `keep`, and what each job read. */
const stampParams = (spaceId: string, modelId: number, keep: number, rows: ReadStamp[]) => [
  spaceId,
  modelId,
  rows.map((x) => x.id),
  keep,
  rows.map((x) => x.incarnation),
  rows.map((x) => x.rev),
  rows.map((x) => x.watermark),
];

/**
 * The embed step's write: the new cold embedding of each item (kept on the item, where
 * refinement starts from) and the version it serves: `served` (refined from the item's
 * events when it has scored ones, else the cold vector). Commits per item only if it is the
 * same incarnation, still emerging, its text is the rev that was encoded, and it does not
 * already serve this model's embedding of this rev from as many events.
 */
export async function writeColdEmbeddings(
  db: Queryable,
  spaceId: string,
  modelId: number,
  keep: number,
  rows: (ReadStamp & { cold: Float32Array; served: Float32Array; interactions: number })[],
): Promise<{ id: string; version: number }[]> {
  if (rows.length === 0) return [];
  const r = await db.query<{ id: string; version: number }>(
    `WITH ${GUARD_PRELUDE},
     b AS (SELECT * FROM unnest($3::text[], $5::bigint[], $6::int[], $7::int[], $8::bytea[], $9::bytea[], $10::int[])
           AS t(id, incarnation, rev, watermark, cold, served, n)),
     upd AS (
       UPDATE items i SET cold_vector = b.cold, cold_model = $2, cold_rev = b.rev, emb_watermark = b.watermark,
         embedding_version = coalesce(i.embedding_version, 0) + 1, updated_at = now(),
         state = CASE WHEN b.n > 0 THEN 'warming' ELSE 'cold' END
       FROM b JOIN lk ON lk.id = b.id
       WHERE i.space_id = $1 AND i.id = b.id AND i.incarnation = b.incarnation AND i.rev = b.rev AND i.state <> 'established'
         AND NOT (i.cold_model IS NOT DISTINCT FROM $2 AND i.cold_rev = b.rev AND i.emb_watermark >= b.watermark)
       RETURNING i.id, i.embedding_version),
     ins AS (
       INSERT INTO embeddings (space_id, item_id, version, kind, vector, interactions, model_id)
       SELECT $1, upd.id, upd.embedding_version, CASE WHEN b.n > 0 THEN 'refined' ELSE 'cold' END, b.served, b.n, $2
       FROM upd JOIN b ON b.id = upd.id
       RETURNING item_id AS id, version),
     ${PRUNE_AND_RETURN}`,
    [
      ...stampParams(spaceId, modelId, keep, rows),
      rows.map((x) => toBytes(x.cold)),
      rows.map((x) => toBytes(x.served)),
      rows.map((x) => x.interactions),
    ],
  );
  return r.rows;
}

/**
 * The refine step's write: a refined version per item. Commits per item only if it is the
 * same incarnation, still emerging, refined from the cold embedding it still has (this
 * model, this rev), and from more events than the version it serves (the watermark rises).
 */
export async function writeRefinedEmbeddings(
  db: Queryable,
  spaceId: string,
  modelId: number,
  keep: number,
  rows: (ReadStamp & { vector: Float32Array; interactions: number })[],
): Promise<{ id: string; version: number }[]> {
  if (rows.length === 0) return [];
  const r = await db.query<{ id: string; version: number }>(
    `WITH ${GUARD_PRELUDE},
     b AS (SELECT * FROM unnest($3::text[], $5::bigint[], $6::int[], $7::int[], $8::bytea[], $9::int[])
           AS t(id, incarnation, rev, watermark, vec, n)),
     upd AS (
       UPDATE items i SET emb_watermark = b.watermark, embedding_version = coalesce(i.embedding_version, 0) + 1,
         state = 'warming', updated_at = now()
       FROM b JOIN lk ON lk.id = b.id
       WHERE i.space_id = $1 AND i.id = b.id AND i.incarnation = b.incarnation AND i.state <> 'established'
         AND i.cold_model = $2 AND i.cold_rev = b.rev AND b.watermark > i.emb_watermark
       RETURNING i.id, i.embedding_version),
     ins AS (
       INSERT INTO embeddings (space_id, item_id, version, kind, vector, interactions, model_id)
       SELECT $1, upd.id, upd.embedding_version, 'refined', b.vec, b.n, $2 FROM upd JOIN b ON b.id = upd.id
       RETURNING item_id AS id, version),
     ${PRUNE_AND_RETURN}`,
    [...stampParams(spaceId, modelId, keep, rows), rows.map((x) => toBytes(x.vector)), rows.map((x) => x.interactions)],
  );
  return r.rows;
}

/** Versions beyond the newest `keep` of any item (left by older releases): deleted in bounded batches. */
export async function pruneOldVersions(db: Queryable, keep: number, limit: number): Promise<number> {
  const r = await db.query(
    `DELETE FROM embeddings WHERE ctid IN (
       SELECT e.ctid FROM embeddings e JOIN items i ON i.space_id = e.space_id AND i.id = e.item_id
       WHERE e.version <= i.embedding_version - $1 LIMIT $2)`,
    [keep, limit],
  );
  return r.rowCount ?? 0;
}
