// refine: each item's cold embedding + its most recent events → a refined embedding (the
// meta-learned update). Events for an item coalesce into one task (tasks.gen), and a job
// takes many items: one load of items and events, one of users, one write, one
// invalidation. A run that would use no more events than the served version writes nothing.
import type { Job } from 'bullmq';
import type { PipelineItem } from '../db/items.js';
import { fromBytes } from '../db/vectors.js';
import { enqueue } from '../pipeline/enqueue.js';
import { storeRefinedEmbeddings } from '../pipeline/store-embeddings.js';
import { isEmerging } from '../pipeline/item-states.js';
import type { JobDeps } from './deps.js';
import { bySpace, loadGroupItems } from './emerging-target.js';
import { scoredInteractions } from './item-interactions.js';
import { taskProcessor } from './run-task.js';
import type { JobData } from './queues.js';

export function refineProcessor(deps: JobDeps): (job: Job<JobData>) => Promise<unknown> {
  const c = deps.config;
  return taskProcessor('refine', deps, async (ctx) => {
    let written = 0,
      skipped = 0,
      healed = 0;
    const ms = { load: 0, compute: 0, write: 0 };
    let t0 = performance.now();
    const lap = (k: keyof typeof ms) => {
      const t = performance.now();
      ms[k] += t - t0;
      t0 = t;
    };
    for (const group of await bySpace(deps, ctx.tasks)) {
      const { spaceId, tasks } = group;
      // No model: nothing to refine from; the training run embeds (and refines) every item.
      if ('skipped' in group.target) {
        skipped += tasks.length;
        continue;
      }
      const { model } = group.target;
      const loaded = await loadGroupItems(deps, group);
      const due: PipelineItem[] = [];
      const needEmbed: string[] = [];
      for (const it of loaded.values()) {
        if (!isEmerging(it.state)) continue;
        // No cold embedding from the active model: the embed step makes one and refines too.
        if (it.coldModel !== model.id || !it.coldVector || it.coldRev === null) needEmbed.push(it.id);
        else if (it.watermark > it.embWatermark) due.push(it);
      }
      const scored = await scoredInteractions(deps.db, spaceId, due);
      lap('load');
      const rows = due.flatMap((it) => {
        const events = scored.get(it.id) ?? [];
        if (events.length === 0) return [];
        const vector = model.runtime.refine(fromBytes(it.coldVector!), events);
        return [{ id: it.id, incarnation: it.incarnation, rev: it.coldRev!, watermark: it.watermark, vector, interactions: events.length }];
      });
      skipped += tasks.length - rows.length - needEmbed.length;
      lap('compute');
      // Each step its own statement, in this order: a crash between them re-runs the job,
      // whose write the guards then drop, and the tasks complete only after their work.
      if (needEmbed.length)
        await enqueue(
          deps.db,
          'embed',
          needEmbed.map((item) => ({ space: spaceId, item })),
          { requestId: ctx.requestId },
        );
      const ids = await storeRefinedEmbeddings(deps.db, spaceId, model.id, c.EMBEDDING_KEEP_VERSIONS, rows);
      await ctx.complete(deps.db, tasks);
      healed += needEmbed.length;
      written += ids.length;
      await deps.invalidate(spaceId, ids);
      lap('write');
    }
    ctx.log.debug({ written, skipped, ms }, 'refined');
    return { written, skipped, embedScheduled: healed };
  });
}
