// A training run is asked for. One run per space at a time: while one is queued or
// running, asking again answers that run (the space row is locked so two requests at
// once cannot both start one; a unique index backs it up).
import crypto from 'node:crypto';
import { withTx, type Db } from '../db/pool.js';
import { activeRun, createRun } from '../db/train-runs.js';
import { enqueue, type Trace } from './enqueue.js';

export async function requestTraining(db: Db, spaceId: string, seed: number, trace: Trace): Promise<{ run: string; existing: boolean }> {
  return withTx(db, async (tx) => {
    await tx.query('SELECT 1 FROM spaces WHERE id = $1 FOR NO KEY UPDATE', [spaceId]);
    const running = await activeRun(tx, spaceId);
    if (running) return { run: running, existing: true };
    const run = crypto.randomUUID();
    await createRun(tx, run, spaceId);
    await enqueue(tx, 'train', [{ space: spaceId, run, seed }], trace);
    return { run, existing: false };
  });
}
