// The outbox relay: moves due rows of `tasks` into BullMQ, many tasks a job. It wakes on
// NOTIFY from the transaction that wrote them, when a local job finishes, and on a poll,
// so a lost notification, a Redis outage or a killed worker only delays work.
// Back-pressure: it dispatches to a queue only while fewer than RELAY_MAX_WAITING_JOBS of
// its jobs wait in Redis; the rest waits in Postgres, where new requests for the same work
// coalesce into it (tasks.gen) instead of piling up as jobs.
// A queue may linger (REFINE_LINGER_MS for refine): the relay dispatches it at most once per
// linger, and a wake-up sooner than that waits for the rest of it. Under a stream of events
// every NOTIFY would otherwise dispatch the few items its transaction touched, and each job
// costs its fixed statements (start, reads, write, completion) whatever its size; a linger
// lets the stream fill jobs instead, for at most that much more latency.
// Several relays may run: rows are claimed with FOR UPDATE SKIP LOCKED. When the LISTEN
// connection dies (Postgres restarted, a proxy cut it) the relay listens again with
// backoff, polling meanwhile.
import crypto from 'node:crypto';
import { keepListening, type Listener } from '../db/listen.js';
import type { Logger } from 'pino';
import type { Queue } from 'bullmq';
import type { Db } from '../db/pool.js';
import { claimDue, releaseJobs, TASKS_CHANNEL } from '../db/tasks.js';
import { QUEUES, type JobData, type QueueName } from './queues.js';
import { tasksDispatched } from './metrics.js';

export interface RelayOptions {
  /** tasks one job takes, per queue */
  batch: Record<QueueName, number>;
  /** dispatch to a queue only while fewer of its jobs than this wait in Redis */
  maxWaitingJobs: number;
  pollMs?: number;
  /** first wait before listening again after the LISTEN connection is lost; doubles up to 30 s */
  relistenMs?: number;
  /** the least time between two passes over a queue, per queue (none: dispatched when woken) */
  lingerMs?: Partial<Record<QueueName, number>>;
}

export class OutboxRelay {
  private listener: Listener | null = null;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private again = false;
  // Queues to look at in the next pass: a notification names its queue; the poll and
  // finished jobs look at all of them.
  private dirty = new Set<QueueName>(QUEUES);
  private stopped = false;
  private lastWarn = 0;
  /** when each lingering queue was last passed over, and the wake-up its linger put off */
  private lastPass = new Map<QueueName, number>();
  private deferred = new Map<QueueName, NodeJS.Timeout>();
  /** the next pass takes every dirty queue now, lingering or not */
  private forced = false;

  constructor(
    private db: Db,
    private queues: Record<QueueName, Queue>,
    private log: Logger,
    private opts: RelayOptions,
  ) {}

  async start(): Promise<void> {
    this.listener = await keepListening(this.db, TASKS_CHANNEL, {
      onNotification: (payload) => this.kick(QUEUES.find((q) => q === payload)),
      // notifications sent while it was deaf are lost: look now
      onUp: (again) => {
        if (again) this.kick();
      },
      log: this.log,
      what: 'relay',
      whileDown: 'polling until it listens again',
      ...(this.opts.relistenMs !== undefined ? { relistenMs: this.opts.relistenMs } : {}),
    });
    this.timer = setInterval(() => this.kick(), this.opts.pollMs ?? 500);
    this.kick();
  }

  /** true while a LISTEN connection is up (notifications arrive) */
  get listening(): boolean {
    return this.listener?.listening ?? false;
  }

  /**
   * Runs a pass over every queue now, lingering or not (or after the one in progress), and
   * resolves when it is over; a lingering queue's linger starts again from it.
   */
  async pass(): Promise<void> {
    while (this.running) await this.running;
    this.forced = true;
    this.kick(); // sets `running` synchronously
    await this.running;
  }

  /** Runs a pass now, or right after the one in progress: over `queue`, or every queue. */
  kick(queue?: QueueName): void {
    if (this.stopped) return;
    if (queue) this.dirty.add(queue);
    else for (const q of QUEUES) this.dirty.add(q);
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.drain().finally(() => {
      this.running = null;
      if (this.again) {
        this.again = false;
        this.kick();
      }
    });
  }

  private async drain(): Promise<void> {
    const queues = [...this.dirty];
    this.dirty.clear();
    const forced = this.forced;
    this.forced = false;
    for (const queue of queues) {
      if (this.lingering(queue, forced)) continue;
      try {
        await this.drainQueue(queue);
      } catch (err) {
        // Redis or Postgres is down: said once every few seconds, not on every wake-up.
        if (Date.now() - this.lastWarn > 5000) {
          this.lastWarn = Date.now();
          this.log.warn({ err: (err as Error).message, queue }, 'relay pass failed; tasks stay in Postgres and the poll tries again');
        }
      }
    }
  }

  /**
   * True when `queue` was passed over less than its linger ago and this pass is not forced: its
   * wake-up is put off to the linger's end. Otherwise a lingering queue's linger starts now.
   */
  private lingering(queue: QueueName, forced: boolean): boolean {
    const linger = this.opts.lingerMs?.[queue] ?? 0;
    if (linger <= 0) return false;
    const now = Date.now();
    const left = (this.lastPass.get(queue) ?? -Infinity) + linger - now;
    if (forced || left <= 0) {
      this.lastPass.set(queue, now);
      return false;
    }
    if (!this.deferred.has(queue))
      this.deferred.set(
        queue,
        setTimeout(() => {
          this.deferred.delete(queue);
          this.kick(queue);
        }, left),
      );
    return true;
  }

  private async drainQueue(queue: QueueName): Promise<void> {
    const batch = this.opts.batch[queue];
    for (;;) {
      const waiting = await this.queues[queue].getWaitingCount();
      const room = this.opts.maxWaitingJobs - waiting;
      if (room <= 0) return; // back-pressure: workers are behind; the tasks wait (and coalesce) in Postgres
      const jobs = await claimDue(this.db, queue, room * batch, batch, `${queue}-${crypto.randomUUID()}`);
      if (jobs.size === 0) return;
      try {
        await this.queues[queue].addBulk(
          [...jobs].map(([jobId, tasks]) => ({
            name: queue,
            data: { queue, tasks: tasks.length } satisfies JobData,
            opts: { jobId },
          })),
        );
      } catch (err) {
        await releaseJobs(this.db, [...jobs.keys()]);
        throw err;
      }
      let n = 0;
      for (const t of jobs.values()) n += t.length;
      tasksDispatched.inc({ queue }, n);
      if (n < room * batch) return;
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    for (const t of this.deferred.values()) clearTimeout(t);
    this.deferred.clear();
    await this.running;
    const l = this.listener;
    this.listener = null;
    await l?.close();
  }
}
