// Embedding versions. Rows are only appended; items.embedding_version points at the
// newest, which is what lookups serve.
import type { Queryable } from './pool.js';
import type { ItemState } from './items.js';
import { fromBytes, toBytes } from './vectors.js';

export type EmbeddingKind = 'base' | 'cold' | 'refined';
export interface EmbeddingRow { id: string; vector: Float32Array; version: number; kind: EmbeddingKind; interactions: number; modelVersion: number | null; updatedAt: Date }

/** Writes a new version for each item in one statement and moves the items to `state`. */
export async function appendEmbeddings(
  db: Queryable, spaceId: string, kind: EmbeddingKind, state: ItemState,
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
    [spaceId, state, rows.map((x) => x.id), rows.map((x) => toBytes(x.vector)), rows.map((x) => x.interactions ?? 0), rows.map((x) => x.modelId ?? null), kind],
  );
  return r.rows;
}

/** The newest embedding of each id, in one query. */
export async function latestEmbeddings(db: Queryable, spaceId: string, ids: string[]): Promise<EmbeddingRow[]> {
  if (ids.length === 0) return [];
  const r = await db.query<Omit<EmbeddingRow, 'vector'> & { vector: Buffer }>(
    `SELECT i.id, e.vector, e.version, e.kind, e.interactions, m.version AS "modelVersion", e.created_at AS "updatedAt"
     FROM items i
     JOIN embeddings e ON e.space_id = i.space_id AND e.item_id = i.id AND e.version = i.embedding_version
     LEFT JOIN models m ON m.id = e.model_id
     WHERE i.space_id = $1 AND i.id = ANY($2::text[])`,
    [spaceId, ids],
  );
  return r.rows.map((row) => ({ ...row, vector: fromBytes(row.vector) }));
}

/** The item's newest cold embedding made by `modelId`: where refinement starts from. */
export async function coldEmbedding(db: Queryable, spaceId: string, itemId: string, modelId: number): Promise<Float32Array | null> {
  const r = await db.query<{ vector: Buffer }>(
    `SELECT vector FROM embeddings WHERE space_id = $1 AND item_id = $2 AND kind = 'cold' AND model_id = $3 ORDER BY version DESC LIMIT 1`,
    [spaceId, itemId, modelId],
  );
  return r.rows[0] ? fromBytes(r.rows[0].vector) : null;
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
