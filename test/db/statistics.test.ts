// Planner statistics of the hot tables (db/statistics.ts), against a real Postgres: a table
// of 1000 rows or more that was never analyzed is stale and refreshStatistics analyzes it
// (and only it); once analyzed it is not stale, until its row count more than doubles or
// falls under half; a table under 1000 rows (and under a megabyte) is never reported.
// The live-row counts are Postgres's activity statistics, flushed by each backend after it
// commits: the writing session forces the flush, and the test waits to see the count. Those
// counts are lost with a crash or pg_stat_reset(): a never-analyzed table of a megabyte or more
// is then stale by its size.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createPool, type Db } from '../../src/db/pool.js';
import { migrate } from '../../src/db/migrate.js';
import { createSpace } from '../../src/db/spaces.js';
import { PLANNED_TABLES, refreshStatistics, staleStatistics } from '../../src/db/statistics.js';
import { defer, freshDatabase, waitFor } from '../support/service.js';

const S = 'stats';

interface TableStats {
  live: number;
  reltuples: number;
  analyzed: boolean;
}

async function stats(db: Db, table: string): Promise<TableStats> {
  const r = await db.query<{ live: string; reltuples: number; analyzed: boolean }>(
    `SELECT s.n_live_tup AS live, c.reltuples, s.last_analyze IS NOT NULL AS analyzed
     FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid
     WHERE s.schemaname = current_schema() AND s.relname = $1`,
    [table],
  );
  const row = r.rows[0];
  assert.ok(row, `${table} has activity statistics`);
  return { live: Number(row.live), reltuples: row.reltuples, analyzed: row.analyzed };
}

/** Flushes this session's pending counts (it is the only one: max 1) and waits until `table` shows `live` rows. */
async function settled(db: Db, table: string, live: number): Promise<TableStats> {
  await db.query('SELECT pg_stat_force_next_flush()');
  return waitFor(async () => {
    const s = await stats(db, table);
    return s.live === live && s;
  }, `${table} to show ${live} live rows`);
}

async function addUsers(db: Db, from: number, to: number): Promise<void> {
  await db.query(`INSERT INTO users (space_id, id, vector) SELECT $1, 'u' || g, '\\x00000000' FROM generate_series($2::int, $3::int) g`, [
    S,
    from,
    to,
  ]);
}

async function addInteractions(db: Db, n: number): Promise<void> {
  await db.query(
    `INSERT INTO interactions (space_id, event_id, user_id, item_id, label, ts)
     SELECT $1, 'e' || g, 'u' || g, 'i' || (g % 10), g % 2, now() FROM generate_series(1, $2::int) g`,
    [S, n],
  );
}

test('a never-analyzed table of 1000+ rows is stale until analyzed, and again once its row count doubles or halves', async (t) => {
  // one connection: the flush forced by the writing session is that of every write here
  const db = createPool(await freshDatabase(t), { max: 1 });
  defer(t, () => db.end());
  await migrate(db);
  await createSpace(db, { id: S, dim: 1, itemType: 'movie', scorer: 'dot' });
  // Autovacuum must not analyze them behind the test's back (its first pass could come at any time).
  for (const table of ['users', 'interactions']) await db.query(`ALTER TABLE ${table} SET (autovacuum_enabled = false)`);

  assert.ok(PLANNED_TABLES.includes('users') && PLANNED_TABLES.includes('interactions'));
  assert.deepEqual(await staleStatistics(db), [], 'a fresh database: every table empty, nothing stale');

  await addUsers(db, 1, 1500);
  await addInteractions(db, 999);
  const fresh = await settled(db, 'users', 1500);
  assert.equal(fresh.analyzed, false);
  assert.ok(fresh.reltuples < 0, `users was never analyzed (reltuples ${fresh.reltuples})`);
  assert.equal((await settled(db, 'interactions', 999)).reltuples < 0, true, 'nor interactions');

  assert.deepEqual(await staleStatistics(db), ['users'], '1500 rows never analyzed; 999 are too few to matter');
  assert.deepEqual(await staleStatistics(db, ['items', 'interactions']), [], 'only the tables asked about');
  assert.deepEqual(await refreshStatistics(db), ['users']);
  const analyzed = await stats(db, 'users');
  assert.equal(analyzed.analyzed, true, 'users was analyzed');
  assert.equal(analyzed.reltuples, 1500, 'and the planner knows its row count');
  const small = await stats(db, 'interactions');
  assert.equal(small.analyzed, false, 'the table under 1000 rows was left alone');
  assert.ok(small.reltuples < 0);

  assert.deepEqual(await staleStatistics(db), [], 'just analyzed: nothing stale');
  assert.deepEqual(await refreshStatistics(db), [], 'and nothing analyzed');

  await addUsers(db, 1501, 3000); // exactly double: not more than 2×
  await settled(db, 'users', 3000);
  assert.deepEqual(await staleStatistics(db), [], 'twice the rows it was analyzed with is not yet stale');

  await addUsers(db, 3001, 3100); // more than double
  await settled(db, 'users', 3100);
  assert.deepEqual(await staleStatistics(db), ['users'], 'more than twice the rows: stale again');
  assert.deepEqual(await refreshStatistics(db), ['users']);
  assert.equal((await stats(db, 'users')).reltuples, 3100);
  assert.deepEqual(await staleStatistics(db), []);

  await db.query(`DELETE FROM users WHERE space_id = $1 AND substr(id, 2)::int > 1500`, [S]); // 1500 left: under half of 3100
  await settled(db, 'users', 1500);
  assert.deepEqual(await staleStatistics(db), ['users'], 'under half the rows: stale');
  assert.deepEqual(await refreshStatistics(db), ['users']);
  assert.deepEqual(await staleStatistics(db), []);

  await db.query(`DELETE FROM users WHERE space_id = $1 AND substr(id, 2)::int > 600`, [S]); // 600: under half, and under 1000
  await settled(db, 'users', 600);
  assert.deepEqual(await staleStatistics(db), [], 'under 1000 rows, whatever it was analyzed with');
});

test('a large never-analyzed table is stale even when the activity counts were reset (a crash, pg_stat_reset)', async (t) => {
  const db = createPool(await freshDatabase(t), { max: 1 });
  defer(t, () => db.end());
  await migrate(db);
  await createSpace(db, { id: S, dim: 1, itemType: 'movie', scorer: 'dot' });
  for (const table of ['users', 'interactions']) await db.query(`ALTER TABLE ${table} SET (autovacuum_enabled = false)`);
  await addInteractions(db, 20000);
  await addUsers(db, 1, 1500); // under a megabyte
  await settled(db, 'interactions', 20000);
  const size = await db.query<{ bytes: string }>(`SELECT pg_relation_size('interactions') AS bytes`);
  assert.ok(Number(size.rows[0]!.bytes) >= 1 << 20, `interactions holds a megabyte or more (${size.rows[0]!.bytes} bytes)`);

  await db.query('SELECT pg_stat_reset()');
  await waitFor(async () => (await stats(db, 'interactions')).live === 0, 'the reset to show');
  assert.deepEqual(await staleStatistics(db), ['interactions'], 'no live-row count, but a megabyte never analyzed');
  assert.deepEqual(await refreshStatistics(db), ['interactions']);
  assert.equal((await stats(db, 'interactions')).reltuples, 20000, 'analyzed: the planner knows its row count again');
  assert.deepEqual(await staleStatistics(db), [], 'and the small table, never analyzed and uncounted, is left alone');
});
