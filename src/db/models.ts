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

export async function modelByVersion(db: Queryable, spaceId: string, version: number): Promise<{ id: number; version: number } | null> {
  const r = await db.query<{ id: number; version: number }>('SELECT id::int, version FROM models WHERE space_id = $1 AND version = $2', [
    spaceId,
    version,
  ]);
  return r.rows[0] ?? null;
}

/** A space's active model (id and version), without its weights; null while it has none. */
export async function activeModelOf(db: Queryable, spaceId: string): Promise<{ id: number; version: number } | null> {
  const r = await db.query<{ id: number; version: number }>(
    'SELECT m.id::int, m.version FROM spaces s JOIN models m ON m.id = s.active_model WHERE s.id = $1',
    [spaceId],
  );
  return r.rows[0] ?? null;
}

/** A model's version by its id, without its weights. */
export async function modelVersionOf(db: Queryable, id: number): Promise<number | null> {
  const r = await db.query<{ version: number }>('SELECT version FROM models WHERE id = $1', [id]);
  return r.rows[0]?.version ?? null;
}

/** What the activation gate decided about a model (pipeline/model-gate.ts). */
export async function setGate(db: Queryable, id: number, gate: unknown): Promise<void> {
  await db.query('UPDATE models SET gate = $2 WHERE id = $1', [id, JSON.stringify(gate)]);
}

export interface ModelSummary {
  version: number;
  active: boolean;
  metrics: Record<string, number>;
  gate: Record<string, unknown> | null;
  createdAt: Date;
}

/** A space's models, newest first, without their weights. */
export async function listModels(db: Queryable, spaceId: string, limit = 20): Promise<ModelSummary[]> {
  const r = await db.query<ModelSummary>(
    `SELECT m.version, m.id = s.active_model AS active, m.metrics, m.gate, m.created_at AS "createdAt"
     FROM models m JOIN spaces s ON s.id = m.space_id WHERE m.space_id = $1 ORDER BY m.version DESC LIMIT $2`,
    [spaceId, limit],
  );
  return r.rows.map((x) => ({ ...x, active: x.active === true }));
}
