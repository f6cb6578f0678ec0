// The outbox relay: moves due rows of `tasks` into BullMQ. It wakes on NOTIFY from
// the transaction that wrote them and also polls, so a lost notification, a Redis
// outage or a killed worker only delays work. Several relays may run: rows are
// claimed with FOR UPDATE SKIP LOCKED.
import type pg from 'pg';
import type { Logger } from 'pino';
import type { Queue } from 'bullmq';
import type { Db } from '../db/pool.js';
import { claimDue, unclaim, TASKS_CHANNEL, type TaskRow } from '../db/tasks.js';
import { jobId, type QueueName } from './queues.js';

export interface RelayOptions { leaseMs: number; pollMs?: number; batch?: number }

export class OutboxRelay {
  private listener: pg.PoolClient | null = null;
  private timer: NodeJS.Timeout | null = null;
  private running = false;
  private again = false;
  private stopped = false;

  constructor(private db: Db, private queues: Record<QueueName, Queue>, private log: Logger, private opts: RelayOptions) {}

  async start(): Promise<void> {
    this.listener = await this.db.connect();
    this.listener.on('notification', () => this.kick());
    this.listener.on('error', (err) => this.log.warn({ err }, 'relay listener error'));
    await this.listener.query(`LISTEN ${TASKS_CHANNEL}`);
    this.timer = setInterval(() => this.kick(), this.opts.pollMs ?? 1000);
    this.kick();
  }

  /** Runs a pass now, or right after the one in progress. */
  kick(): void {
    if (this.stopped) return;
    if (this.running) { this.again = true; return; }
    this.running = true;
    void this.drain().finally(() => {
      this.running = false;
      if (this.again) { this.again = false; this.kick(); }
    });
  }

  private async drain(): Promise<void> {
    const batch = this.opts.batch ?? 500;
    for (;;) {
      let rows: TaskRow[];
      try {
        rows = await claimDue(this.db, this.opts.leaseMs, batch);
      } catch (err) {
        this.log.warn({ err }, 'relay could not read tasks');
        return;
      }
      if (rows.length === 0) return;
      const failed = await this.dispatch(rows);
      if (failed.length) {
        await unclaim(this.db, failed).catch(() => {});
        return; // Redis is down: the poll tries again
      }
      if (rows.length < batch) return;
    }
  }

  private async dispatch(rows: TaskRow[]): Promise<TaskRow[]> {
    const byQueue = new Map<QueueName, TaskRow[]>();
    for (const r of rows) {
      const q = r.queue as QueueName;
      if (!this.queues[q]) continue;
      byQueue.set(q, [...(byQueue.get(q) ?? []), r]);
    }
    const failed: TaskRow[] = [];
    for (const [q, list] of byQueue) {
      try {
        await this.queues[q].addBulk(list.map((r) => ({
          name: q,
          data: { key: r.key, gen: r.gen, payload: r.payload },
          opts: { jobId: jobId(q, r.key, r.gen, r.dispatches) },
        })));
      } catch (err) {
        this.log.warn({ err: (err as Error).message, queue: q, n: list.length }, 'relay could not reach Redis; tasks stay in Postgres');
        failed.push(...list);
      }
    }
    return failed;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    while (this.running) await new Promise((r) => setTimeout(r, 10));
    if (this.listener) {
      await this.listener.query(`UNLISTEN ${TASKS_CHANNEL}`).catch(() => {});
      this.listener.release();
    }
  }
}
