-- Space versions: when the recommender retrains, its new space is a new version of the
-- same space. Each version has a row of its own in `spaces` (its "physical" space: users,
-- items' states, embeddings, models, tasks are keyed by it, so every job works on a
-- version as on any space); version 1 is the space's own row, so existing data needs no
-- move. Features, enrichment and interactions belong to the space: every write of them goes
-- to each version still followed (current, staging, migrating) in the same statement or
-- transaction (emerflow_write_targets below). docs/DESIGN.md, "Space versions", has the rules.

-- A version's own row names the space it belongs to; a space's own row has none, and is
-- the only kind the API resolves by id.
ALTER TABLE spaces ADD COLUMN root_id text REFERENCES spaces(id) ON DELETE CASCADE;
CREATE INDEX spaces_root ON spaces (root_id) WHERE root_id IS NOT NULL;

CREATE TABLE space_versions (
  space_id    text NOT NULL REFERENCES spaces(id) ON DELETE CASCADE,
  version     integer NOT NULL CHECK (version >= 1),
  physical_id text NOT NULL UNIQUE,      -- spaces.id of the version's own row (version 1: space_id)
  state       text NOT NULL CHECK (state IN ('staging', 'migrating', 'current', 'retired')),
  -- its promotion: the train_runs row of kind 'promote', and what the fast path fitted
  promote_run text,
  fast_path   jsonb,
  created_at  timestamptz NOT NULL DEFAULT now(),
  promoted_at timestamptz,
  retired_at  timestamptz,
  PRIMARY KEY (space_id, version)
);
CREATE UNIQUE INDEX space_versions_one_current ON space_versions (space_id) WHERE state = 'current';
CREATE UNIQUE INDEX space_versions_one_migrating ON space_versions (space_id) WHERE state = 'migrating';
INSERT INTO space_versions (space_id, version, physical_id, state, created_at, promoted_at)
SELECT id, 1, id, 'current', created_at, created_at FROM spaces;

-- The versions a write of shared data goes to. VOLATILE, so each query in it takes a
-- snapshot of its own: the SELECT of the versions runs after the KEY SHARE lock is held,
-- and a version created (FOR UPDATE of the space's row) by a transaction that committed
-- while this writer waited is among them. A writer that got the lock first commits first,
-- and the creating transaction's copy, which runs after its lock, sees what it wrote.
CREATE FUNCTION emerflow_write_targets(root text) RETURNS text[] LANGUAGE plpgsql VOLATILE AS $$
BEGIN
  PERFORM 1 FROM spaces WHERE id = root FOR KEY SHARE;
  RETURN ARRAY(SELECT physical_id FROM space_versions
               WHERE space_id = root AND state IN ('current', 'staging', 'migrating')
               ORDER BY physical_id COLLATE "C"); -- the lock order of every writer: space, then item id
END $$;

-- The fast path's embedding: the previous version's vector mapped into the new space.
ALTER TABLE embeddings DROP CONSTRAINT embeddings_kind_check;
ALTER TABLE embeddings ADD CONSTRAINT embeddings_kind_check CHECK (kind IN ('base', 'cold', 'refined', 'mapped'));

-- Model gating: what the activation decided (activated or kept the active one, and why).
ALTER TABLE models ADD COLUMN gate jsonb;

-- Promotions are jobs too (GET /v1/jobs/:id); the one-run-at-a-time rule is for training.
ALTER TABLE train_runs ADD COLUMN kind text NOT NULL DEFAULT 'train' CHECK (kind IN ('train', 'promote'));
DROP INDEX train_runs_one_active;
CREATE UNIQUE INDEX train_runs_one_active ON train_runs (space_id, kind) WHERE state IN ('queued', 'running');

-- API processes keep which version is current in memory: any change of a space's versions
-- tells them, on the lookup cache's channel and with the writing transaction (migration 006).
CREATE FUNCTION emerflow_versions_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('emerflow_embeddings', json_build_object('space', coalesce(NEW.space_id, OLD.space_id), 'versions', true)::text);
  RETURN NULL;
END $$;
CREATE TRIGGER space_versions_notify AFTER INSERT OR UPDATE OR DELETE ON space_versions
  FOR EACH ROW EXECUTE FUNCTION emerflow_versions_changed();
