// The live quality monitor's scorer (ROLE worker|all): takes the events the events statement
// left in quality_pending (each with the embedding served when it arrived, and the item's cold
// one), scores them against the user's vector as the recommender would — p = sigmoid(u·v), the
// only scorer a space has — and stores the scores, in one transaction per batch. A killed
// process loses nothing: the pending rows are deleted only with the scores' commit. Not an
// outbox queue: it is one table drained in arrival order by whichever process gets there first
// (SKIP LOCKED), with no per-item work to coalesce.
import type { Logger } from 'pino';
import type { Db } from '../db/pool.js';
import { withTx } from '../db/pool.js';
import { fromBytes } from '../db/vectors.js';
import { bucketOf, insertScores, pruneScores, takePending, type PendingEvent, type ScoreRow } from '../db/quality.js';
import { qualityScored } from './metrics.js';

export interface QualityScorerOptions {
  pollMs: number;
  batch: number;
  retentionDays: number;
}

const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));

function dot(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * (b[i] ?? 0);
  return s;
}

/** A pending event's scores; null when it cannot be scored (no user vector, or one of another dimension). */
export function scoreEvent(e: PendingEvent): ScoreRow | null {
  if (!e.user) return null;
  const u = fromBytes(e.user);
  const served = fromBytes(e.served);
  if (served.length !== u.length) return null;
  const cold = e.cold ? fromBytes(e.cold) : null;
  return {
    spaceId: e.spaceId,
    eventId: e.eventId,
    bucket: bucketOf(e.prior),
    label: e.label,
    score: sigmoid(dot(u, served)),
    coldScore: cold && cold.length === u.length ? sigmoid(dot(u, cold)) : null,
    receivedAt: e.receivedAt,
  };
}

const PRUNE_EVERY_MS = 3_600_000;

export class QualityScorer {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private lastPrune = 0;

  constructor(
    private db: Db,
    private log: Logger,
    private o: QualityScorerOptions,
  ) {}

  start(): void {
    this.timer = setInterval(() => {
      if (!this.running) this.running = this.pass().finally(() => (this.running = null));
    }, this.o.pollMs);
  }

  /** Scores one batch; returns how many events it took (scored or not). */
  async scoreBatch(): Promise<number> {
    return withTx(this.db, async (tx) => {
      const pending = await takePending(tx, this.o.batch);
      const rows: ScoreRow[] = [];
      for (const e of pending) {
        const r = scoreEvent(e);
        if (r) rows.push(r);
      }
      await insertScores(tx, rows);
      qualityScored.inc({ outcome: 'scored' }, rows.length);
      qualityScored.inc({ outcome: 'unscorable' }, pending.length - rows.length);
      return pending.length;
    });
  }

  /** Drains what is waiting now (batch after batch), then prunes old scores once an hour. */
  private async pass(): Promise<void> {
    try {
      while ((await this.scoreBatch()) === this.o.batch);
      if (Date.now() - this.lastPrune > PRUNE_EVERY_MS) {
        this.lastPrune = Date.now();
        const pruned = await pruneScores(this.db, new Date(Date.now() - this.o.retentionDays * 86_400_000));
        if (pruned) this.log.info({ pruned }, 'quality scores past their retention deleted');
      }
    } catch (err) {
      // the rows are still pending (the transaction rolled back): the next pass takes them
      this.log.warn({ err: (err as Error).message }, 'quality scoring failed; the next pass tries again');
    }
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running;
  }
}
