// enrich: the LLM step. Makes sure the space has its auxiliary-feature schema (asking
// the LLM once per space unless the user set one), fills it in for the item, stores
// the answer and schedules a re-embedding. The item already has (or will get) a cold
// embedding from raw features; this only makes it better, so an LLM outage delays
// nothing else: the task waits in Postgres with its backoff.
// What each space spends is recorded per UTC day; with LLM_SPACE_DAILY_TOKENS, a space
// whose day is spent has its enrichment parked (nothing sent) until the sweeper wakes it
// on the next day. Failures are stored as stable codes (llm_server, llm_timeout, …): the
// endpoint's own words stay in the logs, since items' enrichError is an API answer.
import type { Job } from 'bullmq';
import { getSpace, setAuxFeatures } from '../db/spaces.js';
import { getItem, setEnrichError } from '../db/items.js';
import { addTokens, budgetParkReason, LLM_BUDGET_CODE, tokensSpent, utcDay } from '../db/llm-usage.js';
import { withTx, type Queryable } from '../db/pool.js';
import { LlmError, auxHash, type TokenUsage } from '../llm/index.js';
import { storeEnrichment } from '../pipeline/store-enrichment.js';
import type { JobDeps } from './deps.js';
import { llmBudgetParked, llmBudgetSpent } from './metrics.js';
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
  const skipEstablished = item?.state === 'established' && !deps.config.ENRICH_ESTABLISHED;
  if (!llm || !space || !item || skipEstablished || (item.enrichmentHash === item.contentHash && !stale)) {
    await done(deps.db);
    return { skipped: !llm ? 'no LLM configured' : 'nothing to do' };
  }
  const log = ctx.log.child({ space: spaceId, item: itemId });
  const budget = deps.config.LLM_SPACE_DAILY_TOKENS;
  // The day is fixed when the task starts: a call that runs past midnight counts for the day it was allowed on.
  const day = utcDay(Date.now());
  if (budget > 0 && (await tokensSpent(deps.db, spaceId, day)) >= budget) {
    // Parked, not failed: no attempt is used up and nothing is sent; the sweeper makes it due
    // again once the day is over. The item shows why it waits.
    await withTx(deps.db, async (tx) => {
      await setEnrichError(tx, spaceId, itemId, LLM_BUDGET_CODE);
      await ctx.park(tx, [task], budgetParkReason(day));
    });
    llmBudgetParked.inc();
    log.debug({ day, budget }, 'enrichment parked: the space has spent its LLM tokens for the day');
    return { parked: LLM_BUDGET_CODE };
  }
  const usage = new Usage(spaceId, day, budget, log);
  try {
    let aux = space.auxFeatures;
    if (!aux || aux.length === 0) {
      // Names only (sorted), so that concurrent items ask the identical question, which
      // the client answers with one shared request and then from its cache.
      const answer = await llm.proposeAuxFeatures({ itemType: space.itemType, featureNames: Object.keys(item.features).sort() }, { log });
      // Recorded on its own, before the features: the proposal is paid once per space, and a crash in
      // between makes the retry find the answer in the LLM cache, which costs (and records) nothing.
      await usage.add(deps.db, answer.cached ? undefined : answer.tokens);
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
      // With the enrichment and the task's completion: a job run again after this commit finds
      // nothing to do, so the tokens are counted once. Paid even when the answer was dropped (the
      // content changed meanwhile); a cached answer cost nothing.
      await usage.add(tx, enrichment.cached ? undefined : enrichment.tokens);
    });
    usage.reportSpent();
    return { attributes: Object.keys(enrichment.attributes).length, cached: enrichment.cached };
  } catch (err) {
    if (!(err instanceof LlmError)) throw err;
    // Answers paid for and still rejected count too. Their failure is recorded just below: if that
    // never happens (a crash), the retry asks again (rejected answers are not cached) and pays again.
    await usage.add(deps.db, err.spent).catch((e: Error) => log.warn({ err: e.message }, 'LLM usage of a failed call not recorded'));
    usage.reportSpent();
    // The stable code only: err.message names what failed in this service's words, and what the
    // endpoint said is in the client's log lines, never in what API callers read back.
    await setEnrichError(deps.db, spaceId, itemId, err.code);
    if (!err.retryable) throw new PermanentError(`enrichment failed: ${err.code}`);
    throw new RetryLater(`enrichment failed: ${err.code}`, err.retryAfterMs);
  }
}

/** One task's LLM spend on its space's day; says so once, when it is what used the day's budget up. */
class Usage {
  private spent: { total: number } | undefined;

  constructor(
    private readonly spaceId: string,
    private readonly day: string,
    private readonly budget: number,
    private readonly log: JobContext<'enrich'>['log'],
  ) {}

  async add(db: Queryable, tokens: TokenUsage | undefined): Promise<void> {
    const n = tokens ? tokens.input + tokens.output : 0;
    if (n <= 0) return;
    const total = await addTokens(db, this.spaceId, this.day, n);
    // Exactly one addition crosses the budget per space and day, whichever process made it.
    if (this.budget > 0 && total >= this.budget && total - n < this.budget) this.spent = { total };
  }

  /** After the commit, so that a rolled-back addition is not reported. */
  reportSpent(): void {
    if (!this.spent) return;
    llmBudgetSpent.inc();
    this.log.info(
      { space: this.spaceId, day: this.day, tokens: this.spent.total, budget: this.budget },
      'the space has spent its LLM tokens for the day (LLM_SPACE_DAILY_TOKENS): its enrichment waits for the next UTC day',
    );
    this.spent = undefined;
  }
}
