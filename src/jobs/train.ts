// train: learns the space's model (encoder state, aligner, meta-refiner) from its
// established items, stores it as a new version, activates it, and schedules a
// re-embedding of every emerging item — all in one transaction.
import type { Job } from 'bullmq';
import { getSpace, setActiveModel } from '../db/spaces.js';
import { emergingItemIds } from '../db/items.js';
import { insertModel } from '../db/models.js';
import { updateRun } from '../db/train-runs.js';
import { enqueueTasks } from '../db/tasks.js';
import { withTx } from '../db/pool.js';
import type { ModelArtifact } from '../model/index.js';
import type { JobDeps } from './deps.js';
import { encoderName } from './model-cache.js';
import { prepareTraining } from './training-data.js';
import { runTrainingThread } from './run-training.js';
import { taskProcessor } from './run-task.js';
import { taskKey, type JobData } from './queues.js';

export function trainProcessor(deps: JobDeps): (job: Job<JobData<'train'>>) => Promise<unknown> {
  const process = taskProcessor('train', deps, async ({ payload, job, done }) => {
    const { space: spaceId, run, seed } = payload;
    const space = await getSpace(deps.db, spaceId);
    if (!space) {
      await withTx(deps.db, async (tx) => { await updateRun(tx, run, { state: 'failed', error: 'space was deleted' }); await done(tx); });
      return { skipped: 'space gone' };
    }
    let last = 0;
    const progress = (fraction: number, phase: string) => {
      const now = Date.now();
      if (now - last < 250 && fraction < 1) return; // throttle writes
      last = now;
      void updateRun(deps.db, run, { state: 'running', progress: { fraction, phase } }).catch(() => {});
      void job.updateProgress({ fraction, phase }).catch(() => {});
    };
    progress(0, 'loading');
    const prepared = await prepareTraining(deps.db, spaceId, space.dim, deps.llm, (f) => progress(0.1 * f, 'encoding'));
    const { artifact, backend } = await runTrainingThread(
      { data: prepared.data, seed, encoder: prepared.encoderState },
      (f, phase) => progress(0.1 + 0.85 * f, phase),
    );
    const art = artifact as ModelArtifact;
    const result = await withTx(deps.db, async (tx) => {
      const model = await insertModel(tx, { spaceId, encoder: encoderName(prepared.encoder.id), seed, artifact: art, metrics: art.metrics });
      await setActiveModel(tx, spaceId, model.id);
      const emerging = await emergingItemIds(tx, spaceId);
      await enqueueTasks(tx, 'embed', emerging.map((id) => ({ key: taskKey.embed(spaceId, id), payload: { space: spaceId, item: id } })));
      const res = { modelVersion: model.version, backend, encoder: encoderName(prepared.encoder.id), metrics: art.metrics, counts: prepared.counts, reembedding: emerging.length };
      await updateRun(tx, run, { state: 'completed', progress: { fraction: 1, phase: 'done' }, result: res });
      await done(tx);
      return res;
    });
    deps.log.info({ space: spaceId, run, ...result }, 'model trained and activated');
    return result;
  });
  return async (job) => {
    try {
      return await process(job);
    } catch (err) {
      // The task layer retries; the run shows the latest error meanwhile.
      await updateRun(deps.db, job.data.payload.run, { state: 'failed', error: (err as Error).message.split('\n')[0]! }).catch(() => {});
      throw err;
    }
  };
}
