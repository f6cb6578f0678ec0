// enrich: the LLM step. Makes sure the space has its auxiliary-feature schema (asking
// the LLM once per space unless the user set one), fills it in for the item, stores
// the answer and schedules a re-embedding. The item already has (or will get) a cold
// embedding from raw features; this only makes it better, so an LLM outage delays
// nothing else: the task waits in Postgres with its backoff.
import type { Job } from 'bullmq';
import { getSpace, setAuxFeatures } from '../db/spaces.js';
import { getItem, setEnrichError } from '../db/items.js';
import { withTx, type Queryable } from '../db/pool.js';
import { LlmError, auxHash } from '../llm/index.js';
import { storeEnrichment } from '../pipeline/store-enrichment.js';
import type { JobDeps } from './deps.js';
import { PermanentError, RetryLater, taskProcessor, type JobContext } from './run-task.js';
import type { JobData } from './queues.js';

export function enrichProcessor(deps: JobDeps): (job: Job<JobData>) => Promise<unknown> {
  return taskProcessor('enrich', deps, async (ctx) => {
    // One task a job (the relay's batch for this queue is 1): each is one paid LLM call.
    const out: Record<string, unknown>[] = [];
    for (const task of ctx.tasks) out.push(await enrichOne(deps, ctx, task));
    return out.length === 1 ? out[0] : { items: out };
  });
}

async function enrichOne(
  deps: JobDeps,
  ctx: JobContext<'enrich'>,
  task: JobContext<'enrich'>['tasks'][number],
): Promise<Record<string, unknown>> {
  const { payload } = task;
  const done = (tx: Queryable) => ctx.complete(tx, [task]);
  const { space: spaceId, item: itemId } = payload;
  const llm = deps.llm;
  const space = await getSpace(deps.db, spaceId);
  const item = space ? await getItem(deps.db, spaceId, itemId) : null;
  // `auxHash` is set when the task was made by a change of the auxiliary features: the
  // item is then enriched again even though its content did not change.
  const stale = item?.enrichment && payload.auxHash !== undefined && (item.enrichment['auxHash'] as string | undefined) !== payload.auxHash;
  if (!llm || !space || !item || item.state === 'established' || (item.enrichmentHash === item.contentHash && !stale)) {
    await done(deps.db);
    return { skipped: !llm ? 'no LLM configured' : 'nothing to do' };
  }
  const log = ctx.log.child({ space: spaceId, item: itemId });
  try {
    let aux = space.auxFeatures;
    if (!aux || aux.length === 0) {
      // Names only (sorted), so that concurrent items ask the identical question, which
      // the client answers with one shared request and then from its cache.
      const answer = await llm.proposeAuxFeatures({ itemType: space.itemType, featureNames: Object.keys(item.features).sort() }, { log });
      await setAuxFeatures(deps.db, spaceId, answer.features, 'llm');
      aux = (await getSpace(deps.db, spaceId))?.auxFeatures ?? answer.features; // a user's list set meanwhile wins
    }
    const schemaHash = auxHash(aux);
    const enrichment = await llm.enrichItem(
      { itemType: space.itemType, auxFeatures: aux, features: item.features, contentHash: `${item.contentHash}:${schemaHash}` },
      { log, itemId, jobId: ctx.jobId },
    );
    await withTx(deps.db, async (tx) => {
      await storeEnrichment(
        tx,
        spaceId,
        itemId,
        item.contentHash,
        {
          attributes: enrichment.attributes,
          model: enrichment.model,
          promptVersion: enrichment.promptVersion,
          tokens: enrichment.tokens,
          auxHash: schemaHash,
        },
        { requestId: payload.requestId },
      );
      await done(tx);
    });
    return { attributes: Object.keys(enrichment.attributes).length, cached: enrichment.cached };
  } catch (err) {
    if (!(err instanceof LlmError)) throw err;
    await setEnrichError(deps.db, spaceId, itemId, `${err.kind}: ${err.message}`);
    if (!err.retryable) throw new PermanentError(`enrichment failed (${err.kind}): ${err.message}`);
    throw new RetryLater(`enrichment failed (${err.kind}): ${err.message}`, err.retryAfterMs);
  }
}
