// Outbound webhooks (migration 009): subscriptions, the outbox the triggers fill, and the
// deliveries with their log. The delivery loop is jobs/deliver-webhooks.ts.
import { withTx, type Db, type Queryable } from './pool.js';

export const WEBHOOK_EVENTS = ['embedding.updated', 'model.activated', 'version.promoted'] as const;
export type WebhookEvent = (typeof WEBHOOK_EVENTS)[number];
export type DeliveryState = 'pending' | 'delivered' | 'failed';

export interface SubscriptionRow {
  id: string;
  url: string;
  events: WebhookEvent[];
  createdAt: Date;
}

const SUBSCRIPTION_COLS = 'id, url, events, created_at AS "createdAt"';

/**
 * Null when the space has a subscription for this URL already, or `max` subscriptions (a soft
 * bound: two admins racing may pass it by one).
 */
export async function insertSubscription(
  db: Queryable,
  s: { id: string; spaceId: string; url: string; events: WebhookEvent[]; secret: string },
  max: number,
): Promise<SubscriptionRow | null> {
  const r = await db.query<SubscriptionRow>(
    `INSERT INTO webhook_subscriptions (id, space_id, url, events, secret)
     SELECT $1, $2, $3, $4, $5 WHERE (SELECT count(*) FROM webhook_subscriptions WHERE space_id = $2) < $6
     ON CONFLICT (space_id, url) DO NOTHING
     RETURNING ${SUBSCRIPTION_COLS}`,
    [s.id, s.spaceId, s.url, s.events, s.secret, max],
  );
  return r.rows[0] ?? null;
}

/** The space's subscription for a URL, with its secret. */
export async function subscriptionByUrl(
  db: Queryable,
  spaceId: string,
  url: string,
): Promise<(SubscriptionRow & { secret: string }) | null> {
  const r = await db.query<SubscriptionRow & { secret: string }>(
    `SELECT ${SUBSCRIPTION_COLS}, secret FROM webhook_subscriptions WHERE space_id = $1 AND url = $2`,
    [spaceId, url],
  );
  return r.rows[0] ?? null;
}

export async function listSubscriptions(db: Queryable, spaceId: string): Promise<SubscriptionRow[]> {
  const r = await db.query<SubscriptionRow>(
    `SELECT ${SUBSCRIPTION_COLS} FROM webhook_subscriptions WHERE space_id = $1 ORDER BY created_at, id`,
    [spaceId],
  );
  return r.rows;
}

export async function subscriptionExists(db: Queryable, spaceId: string, id: string): Promise<boolean> {
  const r = await db.query('SELECT 1 FROM webhook_subscriptions WHERE space_id = $1 AND id = $2', [spaceId, id]);
  return (r.rowCount ?? 0) > 0;
}

/**
 * Deletes a subscription and everything still to be sent for it; false when there is none.
 * Outbox rows first, then the subscription: the order a batching loop locks them in (its outbox
 * rows, then the subscription FOR KEY SHARE), so the two never wait on each other in a cycle.
 * The delete of the subscription waits for such a loop, and the deliveries it made go by
 * cascade. Outbox rows a writer adds in between are dropped by the loop (no subscription).
 */
export async function deleteSubscription(db: Db, spaceId: string, id: string): Promise<boolean> {
  return withTx(db, async (tx) => {
    await tx.query(
      `DELETE FROM webhook_outbox
       WHERE subscription_id = $1 AND EXISTS (SELECT 1 FROM webhook_subscriptions WHERE space_id = $2 AND id = $1)`,
      [id, spaceId],
    );
    const r = await tx.query('DELETE FROM webhook_subscriptions WHERE space_id = $1 AND id = $2', [spaceId, id]);
    return (r.rowCount ?? 0) > 0;
  });
}

// ---- the outbox -------------------------------------------------------------------------

export interface OutboxRow {
  id: number;
  subscriptionId: string;
  event: WebhookEvent;
  space: string;
  spaceVersion: number;
  data: Record<string, unknown>;
}

/**
 * Takes (deletes) up to `limit` outbox rows in arrival order, with the ids of their
 * subscriptions that still exist, locked FOR KEY SHARE until the transaction ends. Run in the
 * transaction that inserts the deliveries made of them: the rows are gone only if the
 * deliveries commit, and SKIP LOCKED lets processes batch side by side.
 */
export async function takeOutbox(tx: Queryable, limit: number): Promise<{ rows: OutboxRow[]; live: Set<string> }> {
  const r = await tx.query<OutboxRow>(
    `DELETE FROM webhook_outbox WHERE id IN (SELECT id FROM webhook_outbox ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED)
     RETURNING id, subscription_id AS "subscriptionId", event, space_id AS space, space_version AS "spaceVersion", data`,
    [limit],
  );
  const rows = r.rows.map((x) => ({ ...x, id: Number(x.id) })).sort((a, b) => a.id - b.id);
  if (rows.length === 0) return { rows, live: new Set() };
  const live = await tx.query<{ id: string }>('SELECT id FROM webhook_subscriptions WHERE id = ANY($1) FOR KEY SHARE', [
    [...new Set(rows.map((x) => x.subscriptionId))],
  ]);
  return { rows, live: new Set(live.rows.map((x) => x.id)) };
}

export interface NewDelivery {
  id: string;
  subscriptionId: string;
  event: WebhookEvent;
  items: number | null;
  body: string;
}

/** The deliveries a batch made, inserted in the transaction that took their outbox rows. */
export async function insertDeliveries(tx: Queryable, rows: NewDelivery[]): Promise<void> {
  if (rows.length === 0) return;
  await tx.query(
    `INSERT INTO outbound_webhook_deliveries (id, subscription_id, event, items, body)
     SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::int[], $5::text[])`,
    [rows.map((r) => r.id), rows.map((r) => r.subscriptionId), rows.map((r) => r.event), rows.map((r) => r.items), rows.map((r) => r.body)],
  );
}

// ---- deliveries -------------------------------------------------------------------------

export interface ClaimedDelivery {
  id: string;
  event: WebhookEvent;
  body: string;
  /** this attempt's number, from 1 */
  attempts: number;
  url: string;
  secret: string;
}

/**
 * Claims up to `limit` due deliveries for one attempt each: counts the attempt, and leases
 * the row to `claim` for `leaseMs`. Committed before the POST, so a process that dies while
 * sending leaves a lease that runs out, and the next claim sends the delivery again.
 */
export async function claimDeliveries(
  db: Queryable,
  o: { limit: number; claim: string; leaseMs: number; maxAttempts: number },
): Promise<ClaimedDelivery[]> {
  const r = await db.query<ClaimedDelivery>(
    `WITH due AS (
       SELECT id FROM outbound_webhook_deliveries
       WHERE state = 'pending' AND next_attempt_at <= now() AND (lease_until IS NULL OR lease_until <= now()) AND attempts < $4
       ORDER BY next_attempt_at LIMIT $1 FOR UPDATE SKIP LOCKED)
     UPDATE outbound_webhook_deliveries d
     SET attempts = d.attempts + 1, claim = $2, lease_until = now() + make_interval(secs => $3::float8 / 1000), last_attempt_at = now()
     FROM due, webhook_subscriptions s
     WHERE d.id = due.id AND s.id = d.subscription_id
     RETURNING d.id, d.event, d.body, d.attempts, s.url, s.secret`,
    [o.limit, o.claim, o.leaseMs, o.maxAttempts],
  );
  return r.rows;
}

/**
 * Pending deliveries with no attempt left: their last attempt was claimed and never reported
 * (its process died, or lost the lease: failed as `interrupted`), or WEBHOOKS_MAX_ATTEMPTS
 * was lowered below what they had (failed with their last outcome). Returns their events.
 */
export async function failExhausted(db: Queryable, maxAttempts: number): Promise<WebhookEvent[]> {
  const r = await db.query<{ event: WebhookEvent }>(
    `UPDATE outbound_webhook_deliveries
     SET state = 'failed', finished_at = now(), claim = NULL, lease_until = NULL,
         last_status = CASE WHEN claim IS NULL THEN last_status END,
         last_error = CASE WHEN claim IS NULL THEN last_error ELSE 'interrupted' END
     WHERE state = 'pending' AND attempts >= $1 AND (lease_until IS NULL OR lease_until <= now())
     RETURNING event`,
    [maxAttempts],
  );
  return r.rows.map((x) => x.event);
}

export type AttemptResult =
  | { state: 'delivered'; status: number }
  | { state: 'failed'; status: number | null; error: string | null }
  | { state: 'pending'; status: number | null; error: string | null; retryInMs: number };

/** Records an attempt's outcome, if `claim` still holds the delivery (a lease lost meanwhile records nothing). */
export async function recordAttempt(db: Queryable, id: string, claim: string, r: AttemptResult): Promise<boolean> {
  const q = await db.query(
    `UPDATE outbound_webhook_deliveries
     SET state = $3, last_status = $4, last_error = $5, claim = NULL, lease_until = NULL,
         next_attempt_at = CASE WHEN $3 = 'pending' THEN now() + make_interval(secs => $6::float8 / 1000) ELSE next_attempt_at END,
         finished_at = CASE WHEN $3 = 'pending' THEN NULL ELSE now() END
     WHERE id = $1 AND claim = $2`,
    [id, claim, r.state, r.status, r.state === 'delivered' ? null : r.error, r.state === 'pending' ? r.retryInMs : 0],
  );
  return (q.rowCount ?? 0) > 0;
}

export interface DeliveryLogRow {
  id: string;
  event: WebhookEvent;
  state: DeliveryState;
  attempts: number;
  items: number | null;
  lastStatus: number | null;
  lastError: string | null;
  createdAt: Date;
  lastAttemptAt: Date | null;
  nextAttemptAt: Date;
  finishedAt: Date | null;
}

/** A subscription's deliveries, newest first. */
export async function listDeliveries(db: Queryable, subscriptionId: string, limit: number): Promise<DeliveryLogRow[]> {
  const r = await db.query<DeliveryLogRow>(
    `SELECT id, event, state, attempts, items, last_status AS "lastStatus", last_error AS "lastError", created_at AS "createdAt",
            last_attempt_at AS "lastAttemptAt", next_attempt_at AS "nextAttemptAt", finished_at AS "finishedAt"
     FROM outbound_webhook_deliveries WHERE subscription_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2`,
    [subscriptionId, limit],
  );
  return r.rows;
}

/** Retention: delivered and failed deliveries finished before `before` leave the log. */
export async function pruneDeliveries(db: Queryable, before: Date): Promise<number> {
  const r = await db.query(`DELETE FROM outbound_webhook_deliveries WHERE state <> 'pending' AND finished_at < $1`, [before]);
  return r.rowCount ?? 0;
}

/** What waits: deliveries pending per event, and outbox rows (events not batched yet) per event. */
export async function pendingByEvent(db: Queryable): Promise<{ event: string; deliveries: number; outbox: number }[]> {
  const r = await db.query<{ event: string; deliveries: number; outbox: number }>(
    `SELECT event, sum(d)::int AS deliveries, sum(o)::int AS outbox FROM (
       SELECT event, count(*) AS d, 0 AS o FROM outbound_webhook_deliveries WHERE state = 'pending' GROUP BY event
       UNION ALL SELECT event, 0, count(*) FROM webhook_outbox GROUP BY event) x
     GROUP BY event`,
  );
  return r.rows;
}
