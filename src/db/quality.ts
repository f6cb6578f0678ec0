// The live quality monitor's SQL (migration 008): events waiting to be scored, their scores,
// and the aggregates per bucket of "interactions the item had before the event".
import type { Queryable } from './pool.js';

/** Buckets by the item's interactions before the event; index = quality_scores.bucket. */
export const QUALITY_BUCKETS = ['cold', '1-20', '21-40', '41-60', '61+'] as const;
export type QualityBucket = (typeof QUALITY_BUCKETS)[number];

export function bucketOf(prior: number): number {
  return prior <= 0 ? 0 : Math.min(4, Math.ceil(prior / 20));
}

export interface PendingEvent {
  spaceId: string;
  eventId: string;
  label: 0 | 1;
  prior: number;
  served: Buffer;
  cold: Buffer | null;
  /** the user's vector in that space; null: the recommender has none, the event cannot be scored */
  user: Buffer | null;
  receivedAt: Date;
}

/**
 * Takes up to `limit` waiting events, oldest first, with their users' vectors. Run inside the
 * transaction that stores their scores: the rows are gone only if the scores commit, and
 * SKIP LOCKED lets several worker processes score side by side.
 */
export async function takePending(tx: Queryable, limit: number): Promise<PendingEvent[]> {
  const r = await tx.query<PendingEvent>(
    `WITH taken AS (
       DELETE FROM quality_pending q
       WHERE q.ctid = ANY(ARRAY(SELECT ctid FROM quality_pending LIMIT $1 FOR UPDATE SKIP LOCKED))
       RETURNING q.*)
     SELECT t.space_id AS "spaceId", t.event_id AS "eventId", t.label, t.prior, t.served, t.cold,
            u.vector AS "user", t.received_at AS "receivedAt"
     FROM taken t LEFT JOIN users u ON u.space_id = t.space_id AND u.id = t.user_id`,
    [limit],
  );
  return r.rows;
}

export interface ScoreRow {
  spaceId: string;
  eventId: string;
  bucket: number;
  label: 0 | 1;
  score: number;
  coldScore: number | null;
  receivedAt: Date;
}

export async function insertScores(tx: Queryable, rows: ScoreRow[]): Promise<void> {
  if (rows.length === 0) return;
  await tx.query(
    `INSERT INTO quality_scores (space_id, event_id, bucket, label, score, cold_score, received_at)
     SELECT * FROM unnest($1::text[], $2::text[], $3::smallint[], $4::smallint[], $5::float8[], $6::float8[], $7::timestamptz[])
     ON CONFLICT DO NOTHING`,
    [
      rows.map((r) => r.spaceId),
      rows.map((r) => r.eventId),
      rows.map((r) => r.bucket),
      rows.map((r) => r.label),
      rows.map((r) => r.score),
      rows.map((r) => r.coldScore),
      rows.map((r) => r.receivedAt),
    ],
  );
}

export interface BucketAggregate {
  spaceId: string;
  bucket: number;
  events: number;
  positives: number;
  /** Σ of the positives' average ranks by score (ties share a rank), for the Mann–Whitney AUC */
  rankSum: number | null;
  coldEvents: number;
  coldPositives: number;
  coldRankSum: number | null;
  logLoss: number;
  coldLogLoss: number | null;
}

/**
 * Per (space, bucket) over the events received since `since`: counts, log loss, and the rank
 * sums the AUC is computed from (exact, ties counted one half — as the offline eval's auc()).
 * `spaces` null: every space with scores in the window (the /metrics gauges).
 */
export async function bucketAggregates(db: Queryable, spaces: string[] | null, since: Date): Promise<BucketAggregate[]> {
  const r = await db.query<BucketAggregate>(
    `WITH s AS (
       SELECT space_id, bucket, label, score, cold_score FROM quality_scores
       WHERE ($1::text[] IS NULL OR space_id = ANY($1)) AND received_at >= $2),
     ranked AS (
       SELECT s.*,
         rank() OVER (PARTITION BY space_id, bucket ORDER BY score)
           + (count(*) OVER (PARTITION BY space_id, bucket, score) - 1) / 2.0 AS rk,
         CASE WHEN cold_score IS NOT NULL THEN
           rank() OVER (PARTITION BY space_id, bucket, cold_score IS NULL ORDER BY cold_score)
             + (count(*) OVER (PARTITION BY space_id, bucket, cold_score) - 1) / 2.0 END AS crk
       FROM s)
     SELECT space_id AS "spaceId", bucket, count(*)::int AS events, sum(label)::int AS positives,
       sum(rk) FILTER (WHERE label = 1)::float8 AS "rankSum",
       count(cold_score)::int AS "coldEvents", (count(*) FILTER (WHERE cold_score IS NOT NULL AND label = 1))::int AS "coldPositives",
       sum(crk) FILTER (WHERE label = 1)::float8 AS "coldRankSum",
       avg(-ln(CASE WHEN label = 1 THEN greatest(score, 1e-12) ELSE greatest(1 - score, 1e-12) END))::float8 AS "logLoss",
       avg(-ln(CASE WHEN label = 1 THEN greatest(cold_score, 1e-12) ELSE greatest(1 - cold_score, 1e-12) END))::float8
         AS "coldLogLoss"
     FROM ranked GROUP BY space_id, bucket ORDER BY space_id, bucket`,
    [spaces, since],
  );
  return r.rows;
}

/** Mann–Whitney AUC from a rank sum; null when a class is missing. */
export function aucFromRanks(events: number, positives: number, rankSum: number | null): number | null {
  const negatives = events - positives;
  if (positives === 0 || negatives === 0 || rankSum === null) return null;
  return (rankSum - (positives * (positives + 1)) / 2) / (positives * negatives);
}

/** Events a space has waiting to be scored (the monitor's lag). */
export async function pendingCount(db: Queryable, spaceId: string): Promise<number> {
  const r = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM quality_pending WHERE space_id = $1`, [spaceId]);
  return r.rows[0]?.n ?? 0;
}

/** Retention: scores received before `before` go. */
export async function pruneScores(db: Queryable, before: Date): Promise<number> {
  const r = await db.query(`DELETE FROM quality_scores WHERE received_at < $1`, [before]);
  return r.rowCount ?? 0;
}
