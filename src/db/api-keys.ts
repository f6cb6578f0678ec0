// API keys as stored: a hash, the scopes, the spaces a key is limited to.
import type { Queryable } from './pool.js';

export interface ApiKeyRow {
  id: string;
  name: string | null;
  keyHash: string;
  scopes: string[];
  spaces: string[] | null;
  createdAt: Date;
}

const COLS = `id, name, key_hash AS "keyHash", scopes, spaces, created_at AS "createdAt"`;

export async function insertApiKey(db: Queryable, k: Omit<ApiKeyRow, 'createdAt'>): Promise<ApiKeyRow> {
  const r = await db.query<ApiKeyRow>(
    `INSERT INTO api_keys (id, name, key_hash, scopes, spaces) VALUES ($1, $2, $3, $4, $5) RETURNING ${COLS}`,
    [k.id, k.name, k.keyHash, k.scopes, k.spaces],
  );
  return r.rows[0]!;
}

/** Keys in force (not revoked). */
export async function activeApiKeys(db: Queryable): Promise<ApiKeyRow[]> {
  const r = await db.query<ApiKeyRow>(`SELECT ${COLS} FROM api_keys WHERE revoked_at IS NULL ORDER BY created_at, id`);
  return r.rows;
}

/** False when there is no such key in force. */
export async function revokeApiKey(db: Queryable, id: string): Promise<boolean> {
  const r = await db.query('UPDATE api_keys SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL', [id]);
  return (r.rowCount ?? 0) > 0;
}

export async function countApiKeys(db: Queryable): Promise<number> {
  const r = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM api_keys');
  return r.rows[0]?.n ?? 0;
}
