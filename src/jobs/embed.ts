// embed: raw (+ enriched) features → encoder → aligner → the item's cold embedding,
// and at once a refined one when interactions already exist. Runs when an item
// arrives or changes, when its enrichment lands, and for every emerging item after
// a training run activates a new model.
import type { Job } from 'bullmq';
import { appendEmbeddings } from '../db/embeddings.js';
import { withTx } from '../db/pool.js';
import type { JobDeps } from './deps.js';
import { itemVector } from './item-vector.js';
import { emergingTarget } from './emerging-target.js';
import { scoredInteractions } from './item-interactions.js';
import { taskProcessor } from './run-task.js';
import type { JobData } from './queues.js';

export function embedProcessor(deps: JobDeps): (job: Job<JobData<'embed'>>) => Promise<unknown> {
  return taskProcessor('embed', deps, async ({ payload, done }) => {
    const { space: spaceId, item: itemId } = payload;
    const target = await emergingTarget(deps, spaceId, itemId);
    if ('skipped' in target) {
      await done(deps.db);
      return target;
    }
    const { item, model } = target;
    const r = await itemVector(deps.db, spaceId, item, model);
    const [cold] = model.runtime.align([r]);
    const interactions = await scoredInteractions(deps.db, spaceId, itemId);
    const refined = interactions.length > 0 ? model.runtime.refine(cold!, interactions) : null;
    await withTx(deps.db, async (tx) => {
      await appendEmbeddings(tx, spaceId, 'cold', 'cold', [{ id: itemId, vector: cold!, modelId: model.id }]);
      if (refined) await appendEmbeddings(tx, spaceId, 'refined', 'warming', [{ id: itemId, vector: refined, interactions: interactions.length, modelId: model.id }]);
      await done(tx);
    });
    await deps.invalidate(spaceId, [itemId]);
    return { kind: refined ? 'refined' : 'cold', interactions: interactions.length, model: model.version };
  });
}
