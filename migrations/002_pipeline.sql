-- The work pipeline at load: guarded writes, leases that start with the job, batched
-- dispatch. docs/DESIGN.md states what each column guards.

-- An item's incarnation: a new one every time the (space, id) row is created, so a job
-- of a deleted item cannot write into the item re-created under the same id.
CREATE SEQUENCE item_incarnations;
ALTER TABLE items
  ADD COLUMN incarnation   bigint  NOT NULL DEFAULT nextval('item_incarnations'),
  -- bumped whenever what the item's text is made of changes (features, enrichment):
  -- an embed commits only for the rev it read
  ADD COLUMN rev           integer NOT NULL DEFAULT 1,
  -- where refinement starts from: the newest cold embedding, the model and rev it was made from
  ADD COLUMN cold_vector   bytea,
  ADD COLUMN cold_model    bigint,
  ADD COLUMN cold_rev      integer,
  -- the event watermark of the newest embedding: items.interactions when it was read
  ADD COLUMN emb_watermark integer NOT NULL DEFAULT 0;

-- Existing items keep refining from the cold embedding they have.
UPDATE items i SET cold_vector = c.vector, cold_model = c.model_id, cold_rev = i.rev
FROM (SELECT DISTINCT ON (space_id, item_id) space_id, item_id, vector, model_id
      FROM embeddings WHERE kind = 'cold' ORDER BY space_id, item_id, version DESC) c
WHERE c.space_id = i.space_id AND c.item_id = i.id AND i.state <> 'established';
UPDATE items i SET emb_watermark = e.interactions
FROM embeddings e WHERE e.space_id = i.space_id AND e.item_id = i.id AND e.version = i.embedding_version AND e.kind = 'refined';

-- Refinement reads an item's most recent events: newest first, ties broken by event id.
DROP INDEX interactions_item;
CREATE INDEX interactions_item ON interactions (space_id, item_id, ts, event_id);

-- Tasks: a dispatch carries its job id; the lease starts when the job starts.
ALTER TABLE tasks
  ADD COLUMN job_id      text,          -- the BullMQ job this task was dispatched in (many tasks a job)
  ADD COLUMN started_at  timestamptz,   -- when that job took the task
  ADD COLUMN lease_until timestamptz,   -- renewed while it runs; past it, the worker is presumed gone
  ADD COLUMN parked      text;          -- why it waits for an event rather than a time (e.g. 'no model')
UPDATE tasks SET dispatched_at = NULL;  -- old dispatches carried no job id: dispatch them again
DROP INDEX tasks_due;
CREATE INDEX tasks_due ON tasks (queue, not_before) WHERE dispatched_at IS NULL AND dead_at IS NULL AND parked IS NULL;
CREATE INDEX tasks_dispatched ON tasks (dispatched_at) WHERE dispatched_at IS NOT NULL;
CREATE INDEX tasks_job ON tasks (job_id) WHERE job_id IS NOT NULL;
-- Tasks are updated all the time (gen bumps, claims): room for HOT updates.
ALTER TABLE tasks SET (fillfactor = 70);

-- One training run per space at a time (older duplicates, if any, are closed first).
UPDATE train_runs r SET state = 'failed', error = 'superseded by a newer run of the same space'
WHERE state IN ('queued', 'running')
  AND EXISTS (SELECT 1 FROM train_runs n WHERE n.space_id = r.space_id AND n.state IN ('queued', 'running') AND n.created_at > r.created_at);
CREATE UNIQUE INDEX train_runs_one_active ON train_runs (space_id) WHERE state IN ('queued', 'running');
