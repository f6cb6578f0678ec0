// Trained models (aligner + meta-parameters + encoder state) per space, versioned.
import type { Queryable } from './pool.js';

export interface ModelRow {
  id: number;
  spaceId: string;
  version: number;
  encoder: string;
  seed: number;
  artifact: unknown;
  metrics: Record<string, number>;
  createdAt: Date;
}

export async function insertModel(
  db: Queryable,
  m: { spaceId: string; encoder: string; seed: number; artifact: unknown; metrics: Record<string, number> },
): Promise<{ id: number; version: number }> {
  const r = await db.query<{ id: number; version: number }>(
    `INSERT INTO models (space_id, version, encoder, seed, artifact, metrics)
     SELECT $1, coalesce(max(version), 0) + 1, $2, $3, $4, $5 FROM models WHERE space_id = $1
     RETURNING id::int, version`,
    [m.spaceId, m.encoder, m.seed, JSON.stringify(m.artifact), JSON.stringify(m.metrics)],
  );
  return r.rows[0]!;
}

export async function getModel(db: Queryable, id: number): Promise<ModelRow | null> {
  const r = await db.query<ModelRow>(
    `SELECT id::int, space_id AS "spaceId", version, encoder, seed, artifact, metrics, created_at AS "createdAt" FROM models WHERE id = $1`,
    [id],
  );
  return r.rows[0] ?? null;
}
