-- The live quality monitor (prequential evaluation). Each new event of an emerging item is
-- scored with the embedding the service was serving for that item when the event arrived —
-- before any refinement could use it — and with the item's cold embedding as a reference.
-- The events statement (db/interactions.ts) copies both vectors into quality_pending in the
-- same statement that stores the event, so what was served is fixed at arrival even if a
-- refinement replaces it a millisecond later; the scorer (jobs/quality-scorer.ts) joins the
-- user's vector, computes p = sigmoid(u·v) and moves the row to quality_scores in one
-- transaction. Nothing but the two vectors is copied: the user vector is the one the space
-- has when the row is scored (users change far less often than items are refined).

CREATE TABLE quality_pending (
  space_id    text NOT NULL REFERENCES spaces(id) ON DELETE CASCADE, -- physical (a space version)
  event_id    text NOT NULL,
  user_id     text NOT NULL,
  label       smallint NOT NULL,
  prior       integer NOT NULL,        -- the item's interactions before this event: its bucket
  served      bytea NOT NULL,          -- the embedding served when the event arrived
  cold        bytea,                   -- the item's cold embedding then (NULL: it had none)
  received_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE quality_scores (
  space_id    text NOT NULL REFERENCES spaces(id) ON DELETE CASCADE,
  event_id    text NOT NULL,
  bucket      smallint NOT NULL CHECK (bucket BETWEEN 0 AND 4), -- cold, 1-20, 21-40, 41-60, 61+
  label       smallint NOT NULL,
  score       double precision NOT NULL, -- p from the served embedding
  cold_score  double precision,          -- p from the cold embedding
  received_at timestamptz NOT NULL,
  PRIMARY KEY (space_id, event_id)
);
-- GET …/quality and /metrics read a window of one space: newest rows, by arrival.
CREATE INDEX quality_scores_window ON quality_scores (space_id, received_at);
