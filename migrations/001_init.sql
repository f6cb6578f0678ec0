-- EmerFlow schema. Postgres is the source of truth: every piece of work to do is a row
-- in `tasks`, written in the same transaction as the data that caused it.

CREATE TABLE spaces (
  id            text PRIMARY KEY,
  dim           integer NOT NULL CHECK (dim BETWEEN 1 AND 4096),
  item_type     text NOT NULL,
  scorer        text NOT NULL,
  aux_features  jsonb,               -- [{name, description}] the LLM proposed or the user set
  aux_source    text CHECK (aux_source IN ('llm', 'user')),
  active_model  bigint,              -- models.id; NULL until the first training finishes
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE items (
  space_id          text NOT NULL REFERENCES spaces(id) ON DELETE CASCADE,
  id                text NOT NULL,
  features          jsonb NOT NULL,
  content_hash      text NOT NULL,   -- sha256 of canonical features (+ base embedding)
  state             text NOT NULL CHECK (state IN ('received', 'enriched', 'cold', 'warming', 'established')),
  enrichment        jsonb,           -- {attributes, model, promptVersion, tokens}
  enrichment_hash   text,            -- content_hash the enrichment was made for
  enrich_error      text,
  interactions      integer NOT NULL DEFAULT 0,
  embedding_version integer,         -- newest row in embeddings; lookups read it
  created_at        timestamptz NOT NULL DEFAULT now(),
  updated_at        timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (space_id, id)
);
CREATE INDEX items_state ON items (space_id, state);

-- Encoded feature vectors r_i, one per (item, encoder): vectors of different encoders never mix.
CREATE TABLE item_vectors (
  space_id   text NOT NULL,
  item_id    text NOT NULL,
  encoder    text NOT NULL,          -- name@version/dim
  text_hash  text NOT NULL,          -- hash of the serialised text it encodes
  vector     bytea NOT NULL,         -- float32 little-endian
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (space_id, item_id, encoder),
  FOREIGN KEY (space_id, item_id) REFERENCES items(space_id, id) ON DELETE CASCADE
);

CREATE TABLE users (
  space_id   text NOT NULL REFERENCES spaces(id) ON DELETE CASCADE,
  id         text NOT NULL,
  vector     bytea NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (space_id, id)
);

CREATE TABLE interactions (
  space_id    text NOT NULL REFERENCES spaces(id) ON DELETE CASCADE,
  event_id    text NOT NULL,         -- the client's id: the idempotency key
  user_id     text NOT NULL,
  item_id     text NOT NULL,
  label       smallint NOT NULL CHECK (label IN (0, 1)),
  ts          timestamptz NOT NULL,
  received_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (space_id, event_id)
);
CREATE INDEX interactions_item ON interactions (space_id, item_id, ts);

CREATE TABLE models (
  id          bigserial PRIMARY KEY,
  space_id    text NOT NULL REFERENCES spaces(id) ON DELETE CASCADE,
  version     integer NOT NULL,
  encoder     text NOT NULL,
  seed        integer NOT NULL,
  artifact    jsonb NOT NULL,
  metrics     jsonb NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  UNIQUE (space_id, version)
);

-- Every embedding version ever served; never updated, only appended.
CREATE TABLE embeddings (
  space_id     text NOT NULL,
  item_id      text NOT NULL,
  version      integer NOT NULL,
  kind         text NOT NULL CHECK (kind IN ('base', 'cold', 'refined')),
  vector       bytea NOT NULL,
  interactions integer NOT NULL DEFAULT 0,
  model_id     bigint REFERENCES models(id),
  created_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (space_id, item_id, version),
  FOREIGN KEY (space_id, item_id) REFERENCES items(space_id, id) ON DELETE CASCADE
);

-- Training runs: what GET /v1/jobs/:id reads, so job state survives Redis.
CREATE TABLE train_runs (
  id          text PRIMARY KEY,
  space_id    text NOT NULL REFERENCES spaces(id) ON DELETE CASCADE,
  state       text NOT NULL CHECK (state IN ('queued', 'running', 'completed', 'failed')),
  progress    jsonb NOT NULL DEFAULT '{"fraction": 0, "phase": "queued"}',
  result      jsonb,
  error       text,
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now()
);

-- The outbox. One row per (queue, key) of work still to do. `gen` rises every time
-- the work is requested again (e.g. new interactions), so many requests coalesce into
-- one job and a job for an older gen knows it is stale. A worker deletes the row, in
-- the transaction that writes its result, only if gen is unchanged.
CREATE TABLE tasks (
  queue         text NOT NULL,
  key           text NOT NULL,
  payload       jsonb NOT NULL,
  gen           integer NOT NULL DEFAULT 1,
  dispatches    integer NOT NULL DEFAULT 0,
  attempts      integer NOT NULL DEFAULT 0,
  not_before    timestamptz NOT NULL DEFAULT now(),
  dispatched_at timestamptz,
  last_error    text,
  dead_at       timestamptz,
  created_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (queue, key)
);
CREATE INDEX tasks_due ON tasks (not_before) WHERE dead_at IS NULL;

-- LLM answers by (model, prompt version, content hash): nothing is paid for twice.
CREATE TABLE llm_cache (
  key        text PRIMARY KEY,
  value      jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
