// refine: the cold embedding + the item's interactions → a refined embedding (the
// meta-learned update). Many events for one item coalesce into one job (see tasks.gen);
// a run that would use the same interactions as the newest version writes nothing.
import type { Job } from 'bullmq';
import { appendEmbeddings, coldEmbedding, latestEmbeddings } from '../db/embeddings.js';
import { withTx } from '../db/pool.js';
import type { JobDeps } from './deps.js';
import { scoredInteractions } from './item-interactions.js';
import { emergingTarget } from './emerging-target.js';
import { taskProcessor } from './run-task.js';
import type { JobData } from './queues.js';

export function refineProcessor(deps: JobDeps): (job: Job<JobData<'refine'>>) => Promise<unknown> {
  return taskProcessor('refine', deps, async ({ payload, done }) => {
    const { space: spaceId, item: itemId } = payload;
    const target = await emergingTarget(deps, spaceId, itemId);
    if ('skipped' in target) {
      await done(deps.db);
      return target;
    }
    const { model } = target;
    // No cold embedding from the active model yet: the pending embed task refines too.
    const cold = await coldEmbedding(deps.db, spaceId, itemId, model.id);
    if (!cold) {
      await done(deps.db);
      return { skipped: 'no cold embedding yet' };
    }
    const interactions = await scoredInteractions(deps.db, spaceId, itemId);
    const [latest] = await latestEmbeddings(deps.db, spaceId, [itemId]);
    if (interactions.length === 0 || (latest?.kind === 'refined' && latest.interactions === interactions.length && latest.modelVersion === model.version)) {
      await done(deps.db);
      return { skipped: 'nothing new' };
    }
    const refined = model.runtime.refine(cold, interactions);
    await withTx(deps.db, async (tx) => {
      await appendEmbeddings(tx, spaceId, 'refined', 'warming', [{ id: itemId, vector: refined, interactions: interactions.length, modelId: model.id }]);
      await done(tx);
    });
    await deps.invalidate(spaceId, [itemId]);
    return { interactions: interactions.length, model: model.version };
  });
}
