// Spaces: one recommender's embedding space.
import type { AuxFeature } from '../api/schemas.js';
import type { Queryable } from './pool.js';

export type { AuxFeature };
export interface SpaceRow {
  id: string;
  dim: number;
  itemType: string;
  scorer: string;
  auxFeatures: AuxFeature[] | null;
  auxSource: 'llm' | 'user' | null;
  activeModel: number | null;
  /** the space a version's physical space belongs to; null for a space itself */
  rootId: string | null;
  createdAt: Date;
}

const COLS = `id, dim, item_type AS "itemType", scorer, aux_features AS "auxFeatures", aux_source AS "auxSource",
  active_model::int AS "activeModel", root_id AS "rootId", created_at AS "createdAt"`;

/** Inserts the space; returns null when one with the same id exists already. */
export async function createSpace(
  db: Queryable,
  s: { id: string; dim: number; itemType: string; scorer: string; auxFeatures?: AuxFeature[] },
): Promise<SpaceRow | null> {
  // with its version 1, kept in the space's own row (migration 007)
  const r = await db.query<SpaceRow>(
    `WITH s AS (
       INSERT INTO spaces (id, dim, item_type, scorer, aux_features, aux_source) VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT (id) DO NOTHING RETURNING *),
     v AS (INSERT INTO space_versions (space_id, version, physical_id, state, promoted_at)
           SELECT id, 1, id, 'current', now() FROM s)
     SELECT ${COLS} FROM s`,
    [s.id, s.dim, s.itemType, s.scorer, s.auxFeatures ? JSON.stringify(s.auxFeatures) : null, s.auxFeatures ? 'user' : null],
  );
  return r.rows[0] ?? null;
}

/** A space or a version's physical space, by id (the API resolves only spaces: `rootId` null). */
export async function getSpace(db: Queryable, id: string): Promise<SpaceRow | null> {
  const r = await db.query<SpaceRow>(`SELECT ${COLS} FROM spaces WHERE id = $1`, [id]);
  return r.rows[0] ?? null;
}

/** User-set features always win; an LLM answer only fills a space that has none. */
export async function setAuxFeatures(db: Queryable, id: string, features: AuxFeature[], source: 'llm' | 'user'): Promise<boolean> {
  const r = await db.query(
    `UPDATE spaces SET aux_features = $2, aux_source = $3, updated_at = now()
     WHERE id = $1 AND ($3 = 'user' OR aux_source IS NULL)`,
    [id, JSON.stringify(features), source],
  );
  return (r.rowCount ?? 0) > 0;
}

export async function setActiveModel(db: Queryable, id: string, modelId: number): Promise<void> {
  await db.query('UPDATE spaces SET active_model = $2, updated_at = now() WHERE id = $1', [id, modelId]);
}

export interface SpaceCounts {
  items: Record<string, number>;
  interactions: number;
  users: number;
  models: number;
}

export async function spaceCounts(db: Queryable, id: string): Promise<SpaceCounts> {
  const [states, inter, users, models] = await Promise.all([
    db.query<{ state: string; n: number }>('SELECT state, count(*)::int AS n FROM items WHERE space_id = $1 GROUP BY state', [id]),
    db.query<{ n: number }>('SELECT count(*)::int AS n FROM interactions WHERE space_id = $1', [id]),
    db.query<{ n: number }>('SELECT count(*)::int AS n FROM users WHERE space_id = $1', [id]),
    db.query<{ n: number }>('SELECT count(*)::int AS n FROM models WHERE space_id = $1', [id]),
  ]);
  const items: Record<string, number> = { received: 0, enriched: 0, cold: 0, warming: 0, established: 0 };
  for (const r of states.rows) items[r.state] = r.n;
  return { items, interactions: inter.rows[0]!.n, users: users.rows[0]!.n, models: models.rows[0]!.n };
}

export async function spaceIds(db: Queryable): Promise<string[]> {
  // the spaces themselves, not the rows their later versions are kept in
  return (await db.query<{ id: string }>('SELECT id FROM spaces WHERE root_id IS NULL ORDER BY id')).rows.map((r) => r.id);
}

export interface SpaceSummary {
  id: string;
  dim: number;
  itemType: string;
  scorer: string;
  currentVersion: number;
  createdAt: Date;
}

/** Every space with its current version (whose dim is the one served): GET /v1/spaces. */
export async function listSpaces(db: Queryable): Promise<SpaceSummary[]> {
  const r = await db.query<SpaceSummary>(
    `SELECT s.id, p.dim, s.item_type AS "itemType", s.scorer, v.version AS "currentVersion", s.created_at AS "createdAt"
     FROM spaces s JOIN space_versions v ON v.space_id = s.id AND v.state = 'current' JOIN spaces p ON p.id = v.physical_id
     WHERE s.root_id IS NULL ORDER BY s.id`,
  );
  return r.rows;
}
