// A training run's model becomes the space's active model: stored as the next version,
// activated, and every emerging item is scheduled for re-embedding with it — in one
// transaction with the run's completion. Embed tasks parked for want of a model wake up.
// After the commit, `healSpace` catches items that committed while this transaction ran
// (they were not on its list, and their own embed saw the old model or none).
import { withTx, type Db, type Queryable } from '../db/pool.js';
import { insertModel } from '../db/models.js';
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
  m: NewModel,
  result: (model: { id: number; version: number }, reembedding: number) => Record<string, unknown>,
  finish: (tx: Queryable) => Promise<void>,
  trace: Trace,
): Promise<{ modelId: number; result: Record<string, unknown> }> {
  return withTx(db, async (tx) => {
    // Writers of embeddings hold this row FOR SHARE: once this commits, none of them
    // can still commit a vector of the old model.
    await tx.query('SELECT 1 FROM spaces WHERE id = $1 FOR NO KEY UPDATE', [m.spaceId]);
    const model = await insertModel(tx, { spaceId: m.spaceId, encoder: m.encoder, seed: m.seed, artifact: m.artifact, metrics: m.metrics });
    await setActiveModel(tx, m.spaceId, model.id);
    const emerging = await emergingItemIds(tx, m.spaceId);
    await enqueue(
      tx,
      'embed',
      emerging.map((item) => ({ space: m.spaceId, item })),
      trace,
    );
    await unparkTasks(tx, 'embed', m.spaceId, NO_MODEL);
    const res = result(model, emerging.length);
    await updateRun(tx, m.run, { state: 'completed', progress: { fraction: 1, phase: 'done' }, result: res, error: null });
    await finish(tx);
    return { modelId: model.id, result: res };
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
