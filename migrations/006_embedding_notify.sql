-- Lookup cache invalidation delivered with the writing transaction: every statement that
-- gives items a new served embedding (an INSERT into embeddings: embed, refine, an
-- established item's vector) or deletes items NOTIFYs their ids on emerflow_embeddings.
-- NOTIFY is sent on commit only, so a listener never drops an entry for a write that
-- rolled back, nor misses one that committed while it was connected. Ids go in chunks of
-- six (a payload must stay under 8000 bytes; an id is at most 256 characters); a chunk
-- that is still too long says "this whole space" instead.
CREATE FUNCTION emerflow_notify_embeddings(space_id text, ids text[]) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  payload text := json_build_object('space', space_id, 'ids', to_json(ids))::text;
BEGIN
  IF octet_length(payload) > 7900 THEN
    payload := json_build_object('space', space_id, 'all', true)::text;
  END IF;
  PERFORM pg_notify('emerflow_embeddings', payload);
END $$;

CREATE FUNCTION emerflow_embeddings_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM emerflow_notify_embeddings(c.space_id, array_agg(c.item_id))
  FROM (SELECT space_id, item_id, (row_number() OVER (PARTITION BY space_id ORDER BY item_id) - 1) / 6 AS chunk FROM new_rows) c
  GROUP BY c.space_id, c.chunk;
  RETURN NULL;
END $$;

CREATE FUNCTION emerflow_items_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM emerflow_notify_embeddings(c.space_id, array_agg(c.id))
  FROM (SELECT space_id, id, (row_number() OVER (PARTITION BY space_id ORDER BY id) - 1) / 6 AS chunk FROM old_rows) c
  GROUP BY c.space_id, c.chunk;
  RETURN NULL;
END $$;

CREATE TRIGGER embeddings_notify AFTER INSERT ON embeddings
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION emerflow_embeddings_inserted();
CREATE TRIGGER items_deleted_notify AFTER DELETE ON items
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION emerflow_items_deleted();
