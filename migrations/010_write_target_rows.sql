-- The versions a write of shared data goes to, as rows the planner can count. The array form
-- (emerflow_write_targets, migration 007) unnests to an estimated 10 rows, so an insert of N
-- events was planned for 10·N and joined items by a hash over a sequential scan of the whole
-- table instead of N index probes (23 ms of CPU a batch at 12,000 items, growing with the
-- table). A write goes to one version, or two while one is being built: ROWS 1.
CREATE FUNCTION emerflow_write_target_rows(root text) RETURNS SETOF text LANGUAGE plpgsql VOLATILE ROWS 1 AS $$
BEGIN
  RETURN QUERY SELECT unnest(emerflow_write_targets(root));
END $$;
