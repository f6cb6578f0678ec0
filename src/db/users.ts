// The recommender's user vectors, imported in bulk.
import type { Queryable } from './pool.js';
import { fromBytes, toBytes } from './vectors.js';

/** Upserts in one statement; `users` must have unique ids (the caller dedupes). */
export async function upsertUsers(db: Queryable, spaceId: string, users: { id: string; vector: ArrayLike<number> }[]): Promise<number> {
  if (users.length === 0) return 0;
  const r = await db.query(
    `INSERT INTO users (space_id, id, vector)
     SELECT $1, u.id, u.vector FROM unnest($2::text[], $3::bytea[]) AS u(id, vector)
     ON CONFLICT (space_id, id) DO UPDATE SET vector = EXCLUDED.vector, updated_at = now()
     WHERE users.vector IS DISTINCT FROM EXCLUDED.vector`,
    [spaceId, users.map((u) => u.id), users.map((u) => toBytes(u.vector))],
  );
  return r.rowCount ?? 0;
}

export async function getUserVectors(db: Queryable, spaceId: string, ids: string[]): Promise<Map<string, Float32Array>> {
  const out = new Map<string, Float32Array>();
  if (ids.length === 0) return out;
  const r = await db.query<{ id: string; vector: Buffer }>('SELECT id, vector FROM users WHERE space_id = $1 AND id = ANY($2::text[])', [
    spaceId,
    ids,
  ]);
  for (const row of r.rows) out.set(row.id, fromBytes(row.vector));
  return out;
}

export async function allUserVectors(db: Queryable, spaceId: string): Promise<Map<string, Float32Array>> {
  const r = await db.query<{ id: string; vector: Buffer }>('SELECT id, vector FROM users WHERE space_id = $1', [spaceId]);
  return new Map(r.rows.map((row) => [row.id, fromBytes(row.vector)]));
}
