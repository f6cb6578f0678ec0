// embed: raw (+ enriched) features → encoder → aligner → each item's cold embedding,
// refined at once from its recent events when it has any. Runs when an item arrives or
// changes, when its enrichment lands, and for every emerging item after a training run
// activates a new model. Many items a job: one load, one encoder call, one write.
import type { Job } from 'bullmq';
import { NO_MODEL } from '../pipeline/activate-model.js';
import { storeColdEmbeddings } from '../pipeline/store-embeddings.js';
import { isEmerging } from '../pipeline/item-states.js';
import type { JobDeps } from './deps.js';
import { itemVectors } from './item-vector.js';
import { bySpace, loadGroupItems } from './emerging-target.js';
import { scoredInteractions } from './item-interactions.js';
import { taskProcessor } from './run-task.js';
import type { JobData } from './queues.js';

export function embedProcessor(deps: JobDeps): (job: Job<JobData>) => Promise<unknown> {
  const c = deps.config;
  return taskProcessor('embed', deps, async (ctx) => {
    let written = 0,
      skipped = 0,
      parked = 0;
    for (const group of await bySpace(deps, ctx.tasks)) {
      const { spaceId, tasks } = group;
      if ('skipped' in group.target) {
        // No model yet: the task waits (parked) until a training run activates one.
        if (group.target.skipped === 'no model yet') {
          await ctx.park(deps.db, tasks, NO_MODEL);
          parked += tasks.length;
        } else skipped += tasks.length;
        continue;
      }
      const { model } = group.target;
      const loaded = await loadGroupItems(deps, group);
      const items = [...loaded.values()].filter((it) => isEmerging(it.state));
      skipped += tasks.length - items.length; // gone or established: nothing to do
      if (items.length === 0) continue;
      const r = await itemVectors(deps.db, spaceId, items, model);
      const cold = model.runtime.align(r);
      const scored = await scoredInteractions(deps.db, spaceId, items);
      const rows = items.map((it, k) => {
        const events = scored.get(it.id) ?? [];
        const c0 = cold[k]!;
        return {
          id: it.id,
          incarnation: it.incarnation,
          rev: it.rev,
          watermark: it.watermark,
          cold: c0,
          served: events.length ? model.runtime.refine(c0, events) : c0,
          interactions: events.length,
        };
      });
      // The write, then the tasks: a crash in between re-runs the job, whose write the guards drop.
      const ids = await storeColdEmbeddings(deps.db, spaceId, model.id, c.EMBEDDING_KEEP_VERSIONS, rows);
      await ctx.complete(deps.db, tasks);
      written += ids.length;
      await deps.invalidate(spaceId, ids);
    }
    return { written, skipped, parked };
  });
}
