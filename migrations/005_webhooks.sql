-- Signed webhooks: per-space secrets (HMAC keys, so the service must hold them; never
-- returned after creation, never logged) and the signatures already accepted, kept
-- for twice the signing window so that a replay within it is refused.
CREATE TABLE webhook_secrets (
  id         text PRIMARY KEY,
  space_id   text NOT NULL REFERENCES spaces (id) ON DELETE CASCADE,
  secret     text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  revoked_at timestamptz
);
CREATE INDEX webhook_secrets_active ON webhook_secrets (space_id) WHERE revoked_at IS NULL;

CREATE TABLE webhook_deliveries (
  space_id    text NOT NULL REFERENCES spaces (id) ON DELETE CASCADE,
  signature   text NOT NULL,
  received_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (space_id, signature)
);
CREATE INDEX webhook_deliveries_age ON webhook_deliveries (space_id, received_at);
