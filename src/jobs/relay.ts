// The outbox relay: moves due rows of `tasks` into BullMQ. It wakes on NOTIFY from
// the transaction that wrote them and also polls, so a lost notification, a Redis
// outage or a killed worker only delays work. Several relays may run: rows are
// claimed with FOR UPDATE SKIP LOCKED. When the LISTEN connection dies (Postgres
// restarted, a proxy cut it) the relay connects and listens again with backoff,
// polling meanwhile.
import type pg from 'pg';
import type { Logger } from 'pino';
import type { Queue } from 'bullmq';
import type { Db } from '../db/pool.js';
import { claimDue, unclaim, TASKS_CHANNEL, type TaskRow } from '../db/tasks.js';
import { jobId, type QueueName } from './queues.js';

export interface RelayOptions {
  leaseMs: number;
  pollMs?: number;
  batch?: number;
  /** first wait before listening again after the LISTEN connection is lost; doubles up to 30 s */
  relistenMs?: number;
}

export class OutboxRelay {
  private listener: pg.PoolClient | null = null;
  private timer: NodeJS.Timeout | null = null;
  private running = false;
  private again = false;
  private stopped = false;
  private relistenTimer: NodeJS.Timeout | null = null;
  private relistenDelay: number;

  constructor(private db: Db, private queues: Record<QueueName, Queue>, private log: Logger, private opts: RelayOptions) {
    this.relistenDelay = opts.relistenMs ?? 500;
  }

  async start(): Promise<void> {
    await this.listen();
    this.timer = setInterval(() => this.kick(), this.opts.pollMs ?? 1000);
    this.kick();
  }

  /** true while a LISTEN connection is up (notifications arrive) */
  get listening(): boolean {
    return this.listener !== null;
  }

  private async listen(): Promise<void> {
    const client = await this.db.connect();
    let lost = false;
    const onLost = (err?: Error) => {
      if (lost) return;
      lost = true;
      if (this.listener === client) this.listener = null;
      client.release(err ?? true); // destroy it: never hand a dead connection back to the pool
      if (this.stopped) return;
      this.log.warn({ err: err?.message }, 'relay lost its LISTEN connection; polling until it listens again');
      this.scheduleRelisten();
    };
    client.on('error', onLost);
    client.on('end', () => onLost());
    client.on('notification', () => this.kick());
    try {
      await client.query(`LISTEN ${TASKS_CHANNEL}`);
    } catch (err) {
      onLost(err as Error);
      throw err;
    }
    if (lost) return;
    this.listener = client;
    this.relistenDelay = this.opts.relistenMs ?? 500;
  }

  private scheduleRelisten(): void {
    if (this.stopped || this.relistenTimer) return;
    const delay = this.relistenDelay;
    this.relistenDelay = Math.min(this.relistenDelay * 2, 30_000);
    this.relistenTimer = setTimeout(() => {
      this.relistenTimer = null;
      if (this.stopped || this.listener) return;
      this.listen().then(() => {
        this.log.info('relay listens again');
        this.kick(); // notifications sent while it was deaf are lost: look now
      }, () => this.scheduleRelisten());
    }, delay);
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
    if (this.relistenTimer) clearTimeout(this.relistenTimer);
    while (this.running) await new Promise((r) => setTimeout(r, 10));
    const l = this.listener;
    if (l) {
      this.listener = null;
      await l.query(`UNLISTEN ${TASKS_CHANNEL}`).catch(() => {});
      // its loss handlers would release it a second time
      l.removeAllListeners('end');
      l.removeAllListeners('error');
      l.on('error', () => {});
      l.release();
    }
  }
}
