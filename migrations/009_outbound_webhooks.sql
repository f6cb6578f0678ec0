-- Outbound webhooks: a space's subscribers are told when embeddings change, when a model is
-- activated and when a version is promoted (docs/webhooks.md has the contract). Postgres is
-- the source of truth: the statement that causes an event writes it into webhook_outbox in
-- its own transaction (the triggers below), so nothing that committed goes untold and
-- nothing rolled back is told. The delivery loop (jobs/deliver-webhooks.ts) turns outbox rows
-- into deliveries (one transaction: rows gone, deliveries made), each with a stable id and
-- the exact body sent on every attempt, and retries them with backoff. A claim carries a
-- lease, so a delivery whose process died is sent again by another: at least once, and
-- receivers dedupe on the delivery id.

CREATE TABLE webhook_subscriptions (
  id         text PRIMARY KEY,
  space_id   text NOT NULL REFERENCES spaces (id) ON DELETE CASCADE, -- a space, never a version's own row
  url        text NOT NULL,
  events     text[] NOT NULL,
  secret     text NOT NULL,      -- the HMAC key of the signatures: returned only when made, never logged
  created_at timestamptz NOT NULL DEFAULT now()
);
-- one subscription per URL in a space: subscribing again is answered with the one there is
CREATE UNIQUE INDEX webhook_subscriptions_url ON webhook_subscriptions (space_id, url);

-- Events not yet batched into deliveries. No foreign key to the subscription on purpose: the
-- triggers run inside the writers of embeddings, and a key check against a subscription an
-- admin deleted meanwhile would fail the write. Deleting a subscription deletes its rows; a
-- row left by a writer that raced the delete is dropped by the loop (its subscription is gone).
CREATE TABLE webhook_outbox (
  id              bigserial PRIMARY KEY,  -- arrival order
  subscription_id text NOT NULL,
  event           text NOT NULL,
  space_id        text NOT NULL,          -- the space (not the physical id of its version)
  space_version   integer NOT NULL,
  data            jsonb NOT NULL,         -- embedding.updated: one item {id, version, kind}; else the event's data
  created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhook_outbox_subscription ON webhook_outbox (subscription_id);

-- The deliveries and their log ("webhook_deliveries" is the inbound replay record, migration 005).
-- The loop that makes a delivery holds its subscription FOR KEY SHARE (the key check), so a
-- delete waits for it and then cascades to what it made.
CREATE TABLE outbound_webhook_deliveries (
  id              text PRIMARY KEY,       -- X-EmerFlow-Delivery: the same on every attempt
  subscription_id text NOT NULL REFERENCES webhook_subscriptions (id) ON DELETE CASCADE,
  event           text NOT NULL,
  items           integer,                -- embedding.updated: the items in the batch
  body            text NOT NULL,          -- the bytes sent (and signed) on every attempt
  state           text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'delivered', 'failed')),
  attempts        integer NOT NULL DEFAULT 0,  -- counted when claimed: an attempt its process died in counts
  next_attempt_at timestamptz NOT NULL DEFAULT now(),
  claim           text,                   -- the claim in force; only it may record the attempt's outcome
  lease_until     timestamptz,            -- past it, the claim's process is presumed gone
  last_status     integer,                -- the receiver's HTTP status on the last attempt
  last_error      text,                   -- or why there was none: timeout, connection_refused, private_address, …
  last_attempt_at timestamptz,
  finished_at     timestamptz,            -- delivered, or given up
  created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX outbound_webhook_deliveries_due ON outbound_webhook_deliveries (next_attempt_at) WHERE state = 'pending';
CREATE INDEX outbound_webhook_deliveries_log ON outbound_webhook_deliveries (subscription_id, created_at DESC);
CREATE INDEX outbound_webhook_deliveries_finished ON outbound_webhook_deliveries (finished_at) WHERE state <> 'pending';

-- embedding.updated: per statement, like the lookup cache's notification (migration 006),
-- with the new rows. A physical space maps to its space and version through space_versions;
-- a space without a subscription for the event costs the probe of one index and no row.
CREATE FUNCTION emerflow_webhook_embeddings() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO webhook_outbox (subscription_id, event, space_id, space_version, data)
  SELECT s.id, 'embedding.updated', v.space_id, v.version, jsonb_build_object('id', n.item_id, 'version', n.version, 'kind', n.kind)
  FROM (SELECT DISTINCT space_id FROM new_rows) p
  JOIN space_versions v ON v.physical_id = p.space_id
  JOIN webhook_subscriptions s ON s.space_id = v.space_id AND 'embedding.updated' = ANY (s.events)
  JOIN new_rows n ON n.space_id = p.space_id;
  RETURN NULL;
END $$;
CREATE TRIGGER embeddings_webhook AFTER INSERT ON embeddings
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION emerflow_webhook_embeddings();

-- model.activated: a trigger rather than code in pipeline/activate-model.ts, because the
-- active model changes on several paths (a training run's activation, a rollback, a
-- version's own training during its promotion); the trigger covers every one of them, now
-- and later, always inside the transaction that changes it.
CREATE FUNCTION emerflow_webhook_model_activated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO webhook_outbox (subscription_id, event, space_id, space_version, data)
  SELECT s.id, 'model.activated', v.space_id, v.version,
         jsonb_build_object('modelVersion', (SELECT m.version FROM models m WHERE m.id = NEW.active_model),
                            'previousModelVersion', (SELECT m.version FROM models m WHERE m.id = OLD.active_model))
  FROM space_versions v
  JOIN webhook_subscriptions s ON s.space_id = v.space_id AND 'model.activated' = ANY (s.events)
  WHERE v.physical_id = NEW.id;
  RETURN NULL;
END $$;
CREATE TRIGGER spaces_model_webhook AFTER UPDATE OF active_model ON spaces
  FOR EACH ROW WHEN (NEW.active_model IS DISTINCT FROM OLD.active_model) EXECUTE FUNCTION emerflow_webhook_model_activated();

-- version.promoted: a version becomes current. The switch (pipeline/switch-version.ts)
-- retires the current version in an earlier statement of the same transaction, so the
-- previous version is the one retired last.
CREATE FUNCTION emerflow_webhook_version_promoted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO webhook_outbox (subscription_id, event, space_id, space_version, data)
  SELECT s.id, 'version.promoted', NEW.space_id, NEW.version,
         jsonb_build_object('version', NEW.version, 'previousVersion',
           (SELECT p.version FROM space_versions p
            WHERE p.space_id = NEW.space_id AND p.state = 'retired' AND p.version <> NEW.version
            ORDER BY p.retired_at DESC NULLS LAST, p.version DESC LIMIT 1))
  FROM webhook_subscriptions s
  WHERE s.space_id = NEW.space_id AND 'version.promoted' = ANY (s.events);
  RETURN NULL;
END $$;
CREATE TRIGGER space_versions_promoted_webhook AFTER UPDATE OF state ON space_versions
  FOR EACH ROW WHEN (NEW.state = 'current' AND OLD.state <> 'current') EXECUTE FUNCTION emerflow_webhook_version_promoted();
