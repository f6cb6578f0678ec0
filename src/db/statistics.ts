// Planner statistics for the tables the hot statements join on. Those statements are planned
// on estimates of how many rows a space has: on a table that was never analyzed Postgres
// guesses half a percent of it, so a space that is the whole table looks small enough to scan,
// and the refinement write scanned every item of its space for each one it wrote (90-200 ms a
// batch at 12,000 items, holding item locks the event inserts then waited behind). Autovacuum
// fixes that, but its first pass on a new cluster comes minutes after a bulk load, and its
// 10 % threshold is not about row counts: a table is analyzed here when it has never been and
// holds rows, or its row count has doubled or halved since it was. The live-row counts are
// activity statistics, lost with a crash or pg_stat_reset(); a table that was never analyzed
// is then judged by its size on disk instead.
import type { Queryable } from './pool.js';

/** The tables whose row counts the hot paths' plans depend on. */
export const PLANNED_TABLES = ['items', 'embeddings', 'interactions', 'tasks', 'users', 'item_vectors'] as const;

/** Tables analyzed once they have at least this many live rows (below it any plan is fast). */
const MIN_ROWS = 1000;
/** A never-analyzed table this large is stale whatever its (possibly reset) live-row count says. */
const MIN_UNANALYZED_BYTES = 1 << 20;

/** The tables among `tables` whose statistics are missing or whose row count has moved 2×. */
export async function staleStatistics(db: Queryable, tables: readonly string[] = PLANNED_TABLES): Promise<string[]> {
  const r = await db.query<{ name: string }>(
    `SELECT s.relname AS name FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid
     WHERE s.schemaname = current_schema() AND s.relname = ANY($1::text[])
       AND ((s.n_live_tup >= $2 AND (c.reltuples < 0 OR s.n_live_tup > 2 * c.reltuples OR s.n_live_tup < c.reltuples / 2))
         OR (c.reltuples < 0 AND pg_relation_size(c.oid) >= $3))
     ORDER BY s.relname`,
    [tables, MIN_ROWS, MIN_UNANALYZED_BYTES],
  );
  return r.rows.map((x) => x.name);
}

/** Analyzes the tables whose statistics are stale (see above); returns their names. */
export async function refreshStatistics(db: Queryable, tables: readonly string[] = PLANNED_TABLES): Promise<string[]> {
  const stale = await staleStatistics(db, tables);
  // Names come from the catalogue and are quoted: no input of anyone's reaches this statement.
  if (stale.length) await db.query(`ANALYZE ${stale.map((t) => `"${t.replace(/"/g, '""')}"`).join(', ')}`);
  return stale;
}
