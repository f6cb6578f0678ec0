// Webhook secrets and the record of accepted signatures (migration 005).
import type { Queryable } from './pool.js';

export interface WebhookSecretRow {
  id: string;
  spaceId: string;
  secret: string;
  createdAt: string;
}

/** Keeps at most `keep` secrets in force: the new one and the newest `keep - 1` before it. */
export async function insertWebhookSecret(
  db: Queryable,
  row: { id: string; spaceId: string; secret: string },
  keep: number,
): Promise<string> {
  const r = await db.query<{ created_at: Date }>(
    `WITH made AS (
       INSERT INTO webhook_secrets (id, space_id, secret) VALUES ($1, $2, $3) RETURNING created_at
     ), retired AS (
       UPDATE webhook_secrets SET revoked_at = now()
        WHERE space_id = $2 AND revoked_at IS NULL
          AND id IN (SELECT id FROM webhook_secrets WHERE space_id = $2 AND revoked_at IS NULL
                      ORDER BY created_at DESC, id DESC OFFSET $4)
     )
     SELECT created_at FROM made`,
    [row.id, row.spaceId, row.secret, keep - 1],
  );
  return r.rows[0]!.created_at.toISOString();
}

export async function activeWebhookSecrets(db: Queryable, spaceId: string): Promise<WebhookSecretRow[]> {
  const r = await db.query<{ id: string; space_id: string; secret: string; created_at: Date }>(
    'SELECT id, space_id, secret, created_at FROM webhook_secrets WHERE space_id = $1 AND revoked_at IS NULL ORDER BY created_at DESC',
    [spaceId],
  );
  return r.rows.map((x) => ({ id: x.id, spaceId: x.space_id, secret: x.secret, createdAt: x.created_at.toISOString() }));
}

export async function revokeWebhookSecret(db: Queryable, spaceId: string, id: string): Promise<boolean> {
  const r = await db.query('UPDATE webhook_secrets SET revoked_at = now() WHERE space_id = $1 AND id = $2 AND revoked_at IS NULL', [
    spaceId,
    id,
  ]);
  return (r.rowCount ?? 0) > 0;
}

/**
 * Records an accepted signature; false when it was already recorded (a replay). Signatures
 * older than `keepSeconds` are pruned on the way: past the window they are refused anyway.
 */
export async function recordDelivery(db: Queryable, spaceId: string, signature: string, keepSeconds: number): Promise<boolean> {
  const r = await db.query(
    `WITH pruned AS (
       DELETE FROM webhook_deliveries WHERE space_id = $1 AND received_at < now() - make_interval(secs => $3)
     )
     INSERT INTO webhook_deliveries (space_id, signature) VALUES ($1, $2) ON CONFLICT DO NOTHING RETURNING 1`,
    [spaceId, signature, keepSeconds],
  );
  return (r.rowCount ?? 0) > 0;
}

/** Forgets a signature whose request then failed, so that the sender's retry is not a replay. */
export async function forgetDelivery(db: Queryable, spaceId: string, signature: string): Promise<void> {
  await db.query('DELETE FROM webhook_deliveries WHERE space_id = $1 AND signature = $2', [spaceId, signature]);
}
