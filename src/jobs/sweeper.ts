// Recovery and upkeep, in every process beside the relay (each pass is idempotent, so
// several processes sweeping at once is harmless):
// - leases: a started task whose job stopped renewing its lease (the worker died) is
//   released and dispatched again;
// - lost jobs: a dispatch not started after TASK_LEASE_MS is checked against Redis — still
//   waiting, it is left alone (a backlog is not a loss); gone (Redis lost it), it is released;
// - healing: emerging items whose cold embedding is not from the active model are re-embedded;
// - retention: embedding versions beyond the newest few (left by older releases) are pruned;
// - LLM budgets: enrichment parked because its space had spent its tokens for a UTC day
//   is made due again once that day is over;
// - statistics: a hot table never analyzed, or whose row count moved 2× since it was, is
//   analyzed at the next recovery pass, not minutes later by autovacuum (db/statistics.ts).
import type { Logger } from 'pino';
import type { Queue } from 'bullmq';
import type { Db } from '../db/pool.js';
import { releaseExpiredLeases, releaseJobs, touchDispatch, unparkBefore, unstartedJobs } from '../db/tasks.js';
import { pruneOldVersions } from '../db/embeddings.js';
import { refreshStatistics } from '../db/statistics.js';
import { LLM_BUDGET_PARKED, utcDay } from '../db/llm-usage.js';
import { healSpace } from '../pipeline/activate-model.js';
import type { QueueName } from './queues.js';
import { llmBudgetUnparked, tasksRecovered } from './metrics.js';

export interface SweeperOptions {
  leaseMs: number;
  keepVersions: number;
  upkeepMs?: number;
  onReleased(): void;
  /** The clock that says which UTC day it is (injectable: tests turn the day without waiting for it). */
  now?: () => number;
}

export class Sweeper {
  private timers: NodeJS.Timeout[] = [];
  private busy = false;

  constructor(
    private db: Db,
    private queues: Record<QueueName, Queue>,
    private log: Logger,
    private opts: SweeperOptions,
  ) {}

  start(): void {
    const every = Math.max(500, Math.floor(this.opts.leaseMs / 3));
    this.timers.push(
      setInterval(() => {
        void this.guard(async () => {
          await this.recover();
        });
      }, every),
    );
    this.timers.push(
      setInterval(() => {
        void this.guard(() => this.upkeep());
      }, this.opts.upkeepMs ?? 60_000),
    );
  }

  private async guard(fn: () => Promise<void>): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      await fn();
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'sweep failed; the next one tries again');
    } finally {
      this.busy = false;
    }
  }

  /** One recovery pass; returns how many tasks it released. */
  async recover(): Promise<number> {
    const expired = await releaseExpiredLeases(this.db);
    if (expired) tasksRecovered.inc({ reason: 'lease expired' }, expired);
    const lost: string[] = [];
    const waiting: string[] = [];
    for (const { queue, jobId } of await unstartedJobs(this.db, this.opts.leaseMs, 500)) {
      const q = this.queues[queue as QueueName];
      if (!q) continue;
      const state = await q.getJobState(jobId);
      // A job that finished without taking its tasks, or that Redis no longer has, is lost.
      if (state === 'unknown' || state === 'completed' || state === 'failed') lost.push(jobId);
      else waiting.push(jobId);
    }
    const released = await releaseJobs(this.db, lost);
    if (released) tasksRecovered.inc({ reason: 'job lost' }, released);
    await touchDispatch(this.db, waiting);
    if (expired || released) {
      this.log.info({ expired, lost: released }, 'released tasks to be dispatched again');
      this.opts.onReleased();
    }
    const analyzed = await refreshStatistics(this.db);
    if (analyzed.length) this.log.info({ tables: analyzed }, 'analyzed tables whose statistics were stale');
    return expired + released;
  }

  /** Healing and retention, bounded per pass. */
  async upkeep(): Promise<void> {
    const spaces = await this.db.query<{ id: string; model: string }>(
      'SELECT id, active_model AS model FROM spaces WHERE active_model IS NOT NULL',
    );
    let healed = 0;
    for (const s of spaces.rows) healed += await healSpace(this.db, s.id, Number(s.model), 10_000);
    const pruned = await pruneOldVersions(this.db, this.opts.keepVersions, 10_000);
    if (healed || pruned) this.log.info({ healed, pruned }, 'upkeep');
    await this.renewLlmBudgets();
  }

  /**
   * Makes due again the enrichment parked for a spent budget on a day before `now`'s UTC day
   * (within a minute of midnight, by the upkeep's pace). A space still over its budget (the
   * clocks of two processes disagree) just parks them again, for the new day.
   */
  async renewLlmBudgets(now: number = (this.opts.now ?? Date.now)()): Promise<number> {
    const day = utcDay(now);
    const woken = await unparkBefore(this.db, 'enrich', LLM_BUDGET_PARKED, day);
    if (woken) {
      llmBudgetUnparked.inc(woken);
      this.log.info({ tasks: woken, day }, 'a new UTC day: enrichment parked for spent LLM budgets is due again');
      this.opts.onReleased();
    }
    return woken;
  }

  stop(): void {
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
  }
}
