// A training run's model becomes the space's active model: stored as the next version,
// activated if the gate lets it (pipeline/model-gate.ts), and every emerging item is
// scheduled for re-embedding with it — in one transaction with the run's completion.
// Embed tasks parked for want of a model wake up. A model the gate refuses is stored
// inactive; the run completes and says why. `activateStoredModel` rolls back by hand.
// After the commit, `healSpace` catches items that committed while this transaction ran
// (they were not on its list, and their own embed saw the old model or none).
import { withTx, type Db, type Queryable } from '../db/pool.js';
import { getModel, insertModel, modelByVersion, setGate } from '../db/models.js';
import type { ModelArtifact } from '../model/artifact.js';
import { gateModel, type GateDecision } from './model-gate.js';
import { setActiveModel } from '../db/spaces.js';
import { emergingItemIds, emergingNotFromModel } from '../db/items.js';
import { unparkTasks } from '../db/tasks.js';
import { updateRun } from '../db/train-runs.js';
import { enqueue, type Trace } from './enqueue.js';

export const NO_MODEL = 'no model';

export interface NewModel {
  spaceId: string;
  run: string;
  encoder: string;
  seed: number;
  artifact: unknown;
  metrics: Record<string, number>;
}

export async function activateModel(
  db: Db,
  m: NewModel & { gateTolerance: number },
  result: (model: { id: number; version: number }, reembedding: number, gate: GateDecision) => Record<string, unknown>,
  finish: (tx: Queryable) => Promise<void>,
  trace: Trace,
): Promise<{ modelId: number; activated: boolean; result: Record<string, unknown> }> {
  return withTx(db, async (tx) => {
    // Writers of embeddings hold this row FOR SHARE: once this commits, none of them
    // can still commit a vector of the old model.
    const row = await tx.query<{ active: number | null }>(
      'SELECT active_model::int AS active FROM spaces WHERE id = $1 FOR NO KEY UPDATE',
      [m.spaceId],
    );
    const activeId = row.rows[0]?.active ?? null;
    const active = activeId === null ? null : await getModel(tx, activeId);
    const gate = gateModel(m.artifact as ModelArtifact, active, m.gateTolerance);
    const model = await insertModel(tx, { spaceId: m.spaceId, encoder: m.encoder, seed: m.seed, artifact: m.artifact, metrics: m.metrics });
    await setGate(tx, model.id, gate);
    const reembedding = gate.activate ? await activate(tx, m.spaceId, model.id, trace) : 0;
    const res = result(model, reembedding, gate);
    await updateRun(tx, m.run, { state: 'completed', progress: { fraction: 1, phase: 'done' }, result: res, error: null });
    await finish(tx);
    return { modelId: model.id, activated: gate.activate, result: res };
  });
}

/** Makes `modelId` the space's active model and schedules every emerging item's re-embedding; returns how many. */
async function activate(tx: Queryable, spaceId: string, modelId: number, trace: Trace): Promise<number> {
  await setActiveModel(tx, spaceId, modelId);
  const emerging = await emergingItemIds(tx, spaceId);
  await enqueue(
    tx,
    'embed',
    emerging.map((item) => ({ space: spaceId, item })),
    trace,
  );
  await unparkTasks(tx, 'embed', spaceId, NO_MODEL);
  return emerging.length;
}

/**
 * Rollback (or a refused model activated after all): a stored model version of the space
 * becomes the active one, and every emerging item is re-embedded with it. Null when the
 * space has no such model version.
 */
export async function activateStoredModel(
  db: Db,
  spaceId: string,
  modelVersion: number,
  trace: Trace,
): Promise<{ modelId: number; previous: number | null; reembedding: number } | null> {
  return withTx(db, async (tx) => {
    const row = await tx.query<{ active: number | null }>(
      'SELECT active_model::int AS active FROM spaces WHERE id = $1 FOR NO KEY UPDATE',
      [spaceId],
    );
    if (row.rows.length === 0) return null;
    const model = await modelByVersion(tx, spaceId, modelVersion);
    if (!model) return null;
    const previous = row.rows[0]!.active;
    if (previous === model.id) return { modelId: model.id, previous, reembedding: 0 };
    return { modelId: model.id, previous, reembedding: await activate(tx, spaceId, model.id, trace) };
  });
}

/**
 * Self-healing: schedules a re-embed of every emerging item whose cold embedding is not
 * from the active model (bounded per call). Run after a model is activated, and by the
 * relay from time to time. Returns how many it scheduled.
 */
export async function healSpace(db: Db, spaceId: string, modelId: number, limit = 10_000): Promise<number> {
  const ids = await emergingNotFromModel(db, spaceId, modelId, limit);
  if (ids.length === 0) return 0;
  // Items with an embed task pending keep it (enqueue bumps it; the job reads the newest).
  await withTx(db, (tx) =>
    enqueue(
      tx,
      'embed',
      ids.map((item) => ({ space: spaceId, item })),
      { requestId: `heal-${spaceId}` },
    ),
  );
  return ids.length;
}
