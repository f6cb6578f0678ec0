// Training runs, the record behind GET /v1/jobs/:id (it outlives Redis).
import type { Queryable } from './pool.js';

export type RunState = 'queued' | 'running' | 'completed' | 'failed';
export type RunKind = 'train' | 'promote';
export interface TrainRun {
  id: string;
  kind: RunKind;
  spaceId: string;
  state: RunState;
  progress: { fraction: number; phase: string };
  result: unknown;
  error: string | null;
  createdAt: Date;
  updatedAt: Date;
}

export async function createRun(db: Queryable, id: string, spaceId: string, kind: RunKind = 'train'): Promise<void> {
  await db.query('INSERT INTO train_runs (id, space_id, state, kind) VALUES ($1, $2, $3, $4)', [id, spaceId, 'queued', kind]);
}

export async function getRun(db: Queryable, id: string): Promise<TrainRun | null> {
  const r = await db.query<TrainRun>(
    `SELECT id, kind, space_id AS "spaceId", state, progress, result, error, created_at AS "createdAt", updated_at AS "updatedAt"
     FROM train_runs WHERE id = $1`,
    [id],
  );
  return r.rows[0] ?? null;
}

export async function updateRun(
  db: Queryable,
  id: string,
  patch: { state?: RunState; progress?: { fraction: number; phase: string }; result?: unknown; error?: string | null },
): Promise<void> {
  await db.query(
    `UPDATE train_runs SET state = coalesce($2, state), progress = coalesce($3, progress), result = coalesce($4, result),
       error = CASE WHEN $5::boolean THEN $6 ELSE error END, updated_at = now() WHERE id = $1`,
    [
      id,
      patch.state ?? null,
      patch.progress ? JSON.stringify(patch.progress) : null,
      patch.result === undefined ? null : JSON.stringify(patch.result),
      patch.error !== undefined,
      patch.error ?? null,
    ],
  );
}

/** The space's run of this kind that is queued or running, if any (at most one: train_runs_one_active). */
export async function activeRun(db: Queryable, spaceId: string, kind: RunKind = 'train'): Promise<string | null> {
  const r = await db.query<{ id: string }>(
    `SELECT id FROM train_runs WHERE space_id = $1 AND kind = $2 AND state IN ('queued', 'running')`,
    [spaceId, kind],
  );
  return r.rows[0]?.id ?? null;
}

/**
 * A space's training runs (of every version) and promotions, newest first, with the space
 * version each is about: a training run's is the version whose own row it is kept under; a
 * promotion's row is kept under the space itself, and its version is the one that names it as
 * its promotion, or for an earlier promotion of a version asked again, the one its result names.
 */
export async function listRuns(db: Queryable, space: string, limit: number): Promise<(TrainRun & { spaceVersion: number | null })[]> {
  const r = await db.query<TrainRun & { spaceVersion: number | null }>(
    `SELECT r.id, r.kind, r.space_id AS "spaceId", r.state, r.progress, r.result, r.error,
       r.created_at AS "createdAt", r.updated_at AS "updatedAt", CASE WHEN r.kind <> 'promote' THEN sv.version
         WHEN pv.version IS NOT NULL THEN pv.version
         WHEN jsonb_typeof(r.result->'version') = 'number' THEN (r.result->>'version')::int END AS "spaceVersion"
     FROM train_runs r
     LEFT JOIN space_versions sv ON sv.physical_id = r.space_id
     LEFT JOIN space_versions pv ON pv.space_id = $1 AND pv.promote_run = r.id
     -- the space's own row holds its promotions (and version 1's runs) even once version 1 is pruned
     WHERE r.space_id = $1 OR r.space_id IN (SELECT physical_id FROM space_versions WHERE space_id = $1)
     ORDER BY r.created_at DESC, r.id LIMIT $2`,
    [space, limit],
  );
  return r.rows;
}
