// The outbound webhook loop (ROLE worker|all; every worker process runs one, and they share
// the work through SKIP LOCKED). Each pass:
// 1. batches: takes outbox rows (the triggers of migration 009 wrote them with their cause)
//    and turns them into deliveries, in one transaction — embedding.updated rows per
//    subscription and space version, up to WEBHOOKS_BATCH_ITEMS distinct items a delivery,
//    the other events one delivery each. A delivery's body is made once and stored, so
//    every attempt sends (and signs) the same bytes under the same X-EmerFlow-Delivery id;
// 2. claims due deliveries (attempt counted, lease taken, committed), POSTs them signed, and
//    records the outcome: delivered on a 2xx; otherwise a retry after an exponential backoff
//    with jitter (or the receiver's Retry-After on 429/503), and failed after the last
//    attempt. A process killed mid-delivery records nothing: the lease runs out and another
//    pass sends the delivery again (at least once);
// 3. at most once an hour, prunes the log past WEBHOOKS_RETENTION_DAYS.
import crypto from 'node:crypto';
import type { Logger } from 'pino';
import { sign } from '../auth/webhook-signature.js';
import type { Config } from '../config.js';
import { withTx, type Db } from '../db/pool.js';
import {
  claimDeliveries,
  failExhausted,
  insertDeliveries,
  pruneDeliveries,
  recordAttempt,
  takeOutbox,
  type AttemptResult,
  type ClaimedDelivery,
  type NewDelivery,
  type OutboxRow,
} from '../db/outbound-webhooks.js';
import { postWebhook, type PostOutcome } from '../net/post-webhook.js';
import { webhookDeliveries } from './metrics.js';

export interface WebhookLoopOptions {
  pollMs: number;
  batchItems: number;
  timeoutMs: number;
  concurrency: number;
  maxAttempts: number;
  retryBaseMs: number;
  retryMaxMs: number;
  retentionDays: number;
  allowPrivate: boolean;
}

export const webhookLoopOptions = (c: Config): WebhookLoopOptions => ({
  pollMs: c.WEBHOOKS_POLL_MS,
  batchItems: c.WEBHOOKS_BATCH_ITEMS,
  timeoutMs: c.WEBHOOKS_TIMEOUT_MS,
  concurrency: c.WEBHOOKS_CONCURRENCY,
  maxAttempts: c.WEBHOOKS_MAX_ATTEMPTS,
  retryBaseMs: c.WEBHOOKS_RETRY_BASE_MS,
  retryMaxMs: c.WEBHOOKS_RETRY_MAX_MS,
  retentionDays: c.WEBHOOKS_RETENTION_DAYS,
  allowPrivate: c.WEBHOOKS_ALLOW_PRIVATE_URLS,
});

/** Outbox rows one batching transaction takes. */
const OUTBOX_TAKE = 5000;
const PRUNE_EVERY_MS = 3_600_000;
// A claim outlives its attempt, which the timeout bounds, by a margin for recording it.
const LEASE_MARGIN_MS = 30_000;

interface Item {
  id: string;
  version: number;
  kind: string;
}

/**
 * The deliveries made of some outbox rows (in arrival order). Rows of subscriptions not in
 * `live` (deleted meanwhile) make none. An item written twice before it was batched is sent
 * once, with its newest version.
 */
export function batchOutbox(rows: OutboxRow[], live: Set<string>, batchItems: number, now: Date, newId = crypto.randomUUID): NewDelivery[] {
  const out: NewDelivery[] = [];
  const make = (r: OutboxRow, data: unknown, items: number | null) => {
    const id = newId();
    const body = { type: r.event, space: r.space, spaceVersion: r.spaceVersion, deliveryId: id, createdAt: now.toISOString(), data };
    out.push({ id, subscriptionId: r.subscriptionId, event: r.event, items, body: JSON.stringify(body) });
  };
  const groups = new Map<string, { first: OutboxRow; items: Map<string, Item> }>();
  for (const r of rows) {
    if (!live.has(r.subscriptionId)) continue;
    if (r.event !== 'embedding.updated') {
      make(r, r.data, null);
      continue;
    }
    const key = JSON.stringify([r.subscriptionId, r.space, r.spaceVersion]);
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { first: r, items: new Map() }));
    const item = r.data as unknown as Item;
    const seen = g.items.get(item.id);
    if (!seen || seen.version < item.version) g.items.set(item.id, { id: item.id, version: item.version, kind: item.kind });
  }
  for (const { first, items } of groups.values()) {
    const all = [...items.values()];
    for (let i = 0; i < all.length; i += batchItems) {
      const chunk = all.slice(i, i + batchItems);
      make(first, { items: chunk }, chunk.length);
    }
  }
  return out;
}

/** Exponential backoff with equal jitter: the n-th retry waits between half and all of min(max, base·2^(n-1)). */
export function retryDelay(attempt: number, baseMs: number, maxMs: number, random = Math.random): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.min(attempt - 1, 40));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

/** What an attempt's outcome makes of the delivery. */
export function attemptResult(o: PostOutcome, attempt: number, opts: WebhookLoopOptions): AttemptResult {
  if (o.ok) return { state: 'delivered', status: o.status };
  if (attempt >= opts.maxAttempts) return { state: 'failed', status: o.status, error: o.error };
  const retryInMs =
    o.retryAfterMs === undefined ? retryDelay(attempt, opts.retryBaseMs, opts.retryMaxMs) : Math.min(o.retryAfterMs, opts.retryMaxMs);
  return { state: 'pending', status: o.status, error: o.error, retryInMs };
}

export class WebhookDeliverer {
  private timer: NodeJS.Timeout | null = null;
  private passing: Promise<void> | null = null;
  private readonly inFlight = new Set<Promise<void>>();
  private lastPrune = 0;

  constructor(
    private db: Db,
    private log: Logger,
    private o: WebhookLoopOptions,
  ) {}

  start(): void {
    this.timer = setInterval(() => this.kick(), this.o.pollMs);
  }

  /** Starts a pass unless one is running or the loop is stopped (the poll, or a finished attempt freeing a slot). */
  private kick(): void {
    if (!this.passing && this.timer) this.passing = this.pass().finally(() => (this.passing = null));
  }

  /** One pass, then waits for the attempts it started: for tests, and a process that drives the loop itself. */
  async runOnce(): Promise<void> {
    await this.pass();
    await Promise.all(this.inFlight);
  }

  private async pass(): Promise<void> {
    try {
      while ((await this.batchEvents()) === OUTBOX_TAKE);
      for (const event of await failExhausted(this.db, this.o.maxAttempts)) webhookDeliveries.inc({ event, outcome: 'failed' });
      const free = this.o.concurrency - this.inFlight.size;
      if (free > 0) {
        const claim = crypto.randomUUID();
        const claimed = await claimDeliveries(this.db, {
          limit: free,
          claim,
          leaseMs: this.o.timeoutMs + LEASE_MARGIN_MS,
          maxAttempts: this.o.maxAttempts,
        });
        for (const d of claimed) {
          const p: Promise<void> = this.attempt(d, claim).finally(() => {
            this.inFlight.delete(p);
            this.kick(); // a free slot: more may be due
          });
          this.inFlight.add(p);
        }
      }
      await this.pruneLog();
    } catch (err) {
      // nothing is lost: outbox rows and claims roll back, and an expired lease is claimed again
      this.log.warn({ err: (err as Error).message }, 'webhook delivery pass failed; the next pass tries again');
    }
  }

  /** Retention, at most once an hour: delivered and failed deliveries older than retentionDays leave the log. */
  private async pruneLog(): Promise<void> {
    if (Date.now() - this.lastPrune < PRUNE_EVERY_MS) return;
    this.lastPrune = Date.now();
    const pruned = await pruneDeliveries(this.db, new Date(this.lastPrune - this.o.retentionDays * 86_400_000));
    if (pruned) this.log.info({ pruned }, 'webhook deliveries past their retention deleted');
  }

  /** Turns up to OUTBOX_TAKE outbox rows into deliveries; returns how many rows it took. */
  async batchEvents(): Promise<number> {
    return withTx(this.db, async (tx) => {
      const { rows, live } = await takeOutbox(tx, OUTBOX_TAKE);
      await insertDeliveries(tx, batchOutbox(rows, live, this.o.batchItems, new Date()));
      return rows.length;
    });
  }

  /** One attempt; never rejects (an unrecorded attempt is sent again once its lease runs out). */
  private async attempt(d: ClaimedDelivery, claim: string): Promise<void> {
    try {
      const t = Math.floor(Date.now() / 1000);
      const headers = {
        'content-type': 'application/json',
        'user-agent': 'EmerFlow-Webhooks/1',
        'x-emerflow-event': d.event,
        'x-emerflow-delivery': d.id,
        'x-emerflow-signature': `t=${t},v1=${sign(d.secret, t, d.body)}`,
      };
      const outcome = await postWebhook(d.url, headers, d.body, { timeoutMs: this.o.timeoutMs, allowPrivate: this.o.allowPrivate });
      const result = attemptResult(outcome, d.attempts, this.o);
      webhookDeliveries.inc({ event: d.event, outcome: result.state === 'pending' ? 'retried' : result.state });
      const log = { delivery: d.id, event: d.event, attempt: d.attempts, status: outcome.status, error: outcome.ok ? null : outcome.error };
      if (result.state === 'failed') this.log.warn(log, 'webhook delivery failed for good after its last attempt');
      else this.log.debug(log, 'webhook delivery attempt');
      await recordAttempt(this.db, d.id, claim, result);
    } catch (err) {
      // unrecorded, the lease runs out and the delivery is sent again: at least once, never lost
      this.log.warn({ err: (err as Error).message, delivery: d.id }, 'webhook attempt not recorded; it will be sent again');
    }
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.passing;
    // each attempt ends within WEBHOOKS_TIMEOUT_MS
    await Promise.all(this.inFlight);
  }
}
