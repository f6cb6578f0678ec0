// Space versions (migration 007): a space's versions, the physical space each one is kept
// in, and the SQL of creating, migrating and switching them. docs/DESIGN.md, "Space versions".
import type { Queryable } from './pool.js';

export type VersionState = 'staging' | 'migrating' | 'current' | 'retired';
export interface VersionRow {
  version: number;
  physicalId: string;
  state: VersionState;
  dim: number;
  activeModel: number | null;
  promoteRun: string | null;
  fastPath: Record<string, unknown> | null;
  createdAt: Date;
  promotedAt: Date | null;
  retiredAt: Date | null;
}

/** Version 1 is kept in the space's own row; a later one in `<space>@v<n>` ('@' is not allowed in a space id). */
export function physicalIdOf(space: string, version: number): string {
  return version === 1 ? space : `${space}@v${version}`;
}

/** The space a physical id belongs to (itself for version 1). */
export function rootOf(physicalId: string): string {
  const at = physicalId.indexOf('@v');
  return at < 0 ? physicalId : physicalId.slice(0, at);
}

const COLS = `v.version, v.physical_id AS "physicalId", v.state, s.dim, s.active_model::int AS "activeModel",
  v.promote_run AS "promoteRun", v.fast_path AS "fastPath", v.created_at AS "createdAt",
  v.promoted_at AS "promotedAt", v.retired_at AS "retiredAt"`;

export async function listVersions(db: Queryable, space: string): Promise<VersionRow[]> {
  const r = await db.query<VersionRow>(
    `SELECT ${COLS} FROM space_versions v JOIN spaces s ON s.id = v.physical_id WHERE v.space_id = $1 ORDER BY v.version`,
    [space],
  );
  return r.rows;
}

export async function getVersion(db: Queryable, space: string, version: number): Promise<VersionRow | null> {
  const r = await db.query<VersionRow>(
    `SELECT ${COLS} FROM space_versions v JOIN spaces s ON s.id = v.physical_id WHERE v.space_id = $1 AND v.version = $2`,
    [space, version],
  );
  return r.rows[0] ?? null;
}

/**
 * The physical spaces a write of the space's shared data (features, interactions) goes to:
 * every version still followed. Locks the space's row FOR KEY SHARE until the transaction
 * ends, so no version is created or switched under the write (see migration 007).
 */
export async function writeTargets(db: Queryable, space: string): Promise<string[]> {
  const r = await db.query<{ t: string[] }>('SELECT emerflow_write_targets($1) AS t', [space]);
  return r.rows[0]?.t ?? [];
}

export async function retiredPhysicalIds(db: Queryable, space: string): Promise<string[]> {
  const r = await db.query<{ id: string }>(
    `SELECT physical_id AS id FROM space_versions WHERE space_id = $1 AND state = 'retired' ORDER BY physical_id COLLATE "C"`,
    [space],
  );
  return r.rows.map((x) => x.id);
}

/** Locks the space's row against every writer of shared data (they hold it FOR KEY SHARE). */
export async function lockSpaceForVersions(db: Queryable, space: string): Promise<boolean> {
  const r = await db.query('SELECT 1 FROM spaces WHERE id = $1 AND root_id IS NULL FOR UPDATE', [space]);
  return (r.rowCount ?? 0) > 0;
}

/**
 * A new staging version of `space` in a physical space of its own, holding a copy of the
 * space's shared data as `from` (its current version's physical space) has it: items (all
 * emerging in the new version, with their features and enrichment), their encoded
 * vectors, and every interaction. Run with the space's row locked (lockSpaceForVersions).
 */
export async function insertVersion(
  db: Queryable,
  space: string,
  from: string,
  dim: number | null,
): Promise<VersionRow & { copiedItems: number }> {
  const next = await db.query<{ v: number }>('SELECT coalesce(max(version), 0) + 1 AS v FROM space_versions WHERE space_id = $1', [space]);
  const version = next.rows[0]!.v;
  const physical = physicalIdOf(space, version);
  await db.query(
    `INSERT INTO spaces (id, root_id, dim, item_type, scorer, aux_features, aux_source)
     SELECT $2, $1, coalesce($3, s.dim), s.item_type, s.scorer, f.aux_features, f.aux_source
     FROM spaces s, spaces f WHERE s.id = $1 AND f.id = $4`,
    [space, physical, dim, from],
  );
  await db.query('INSERT INTO space_versions (space_id, version, physical_id, state) VALUES ($1, $2, $3, $4)', [
    space,
    version,
    physical,
    'staging',
  ]);
  const items = await db.query(
    `INSERT INTO items (space_id, id, features, content_hash, state, enrichment, enrichment_hash, interactions)
     SELECT $2, id, features, content_hash, CASE WHEN enrichment IS NULL THEN 'received' ELSE 'enriched' END,
            enrichment, enrichment_hash, interactions
     FROM items WHERE space_id = $1`,
    [from, physical],
  );
  await db.query(
    `INSERT INTO item_vectors (space_id, item_id, encoder, text_hash, vector)
     SELECT $2, item_id, encoder, text_hash, vector FROM item_vectors WHERE space_id = $1`,
    [from, physical],
  );
  await db.query(
    `INSERT INTO interactions (space_id, event_id, user_id, item_id, label, ts, received_at)
     SELECT $2, event_id, user_id, item_id, label, ts, received_at FROM interactions WHERE space_id = $1`,
    [from, physical],
  );
  return { ...(await getVersion(db, space, version))!, copiedItems: items.rowCount ?? 0 };
}

/**
 * After a version's copy: the copies can double these tables at once, and the promotion's
 * queries are planned on statistics autoanalyze would update too late (measured: a count of
 * 100,000 copied items took 27 s on the old statistics, 1 s after ANALYZE).
 */
export async function analyzeCopies(db: Queryable): Promise<void> {
  await db.query('ANALYZE items, item_vectors, interactions');
}

/** Moves a version from one of `from` to `to`; false when it was not in one of them. */
export async function setVersionState(
  db: Queryable,
  space: string,
  version: number,
  from: VersionState[],
  to: VersionState,
): Promise<boolean> {
  const r = await db.query(
    `UPDATE space_versions SET state = $4,
       promoted_at = CASE WHEN $4 = 'current' THEN now() ELSE promoted_at END,
       retired_at = CASE WHEN $4 = 'retired' THEN now() ELSE retired_at END
     WHERE space_id = $1 AND version = $2 AND state = ANY($3::text[])`,
    [space, version, from, to],
  );
  return (r.rowCount ?? 0) > 0;
}

/** The run (train_runs, kind promote) promoting this version. */
export async function setPromoteRun(db: Queryable, space: string, version: number, run: string): Promise<void> {
  await db.query('UPDATE space_versions SET promote_run = $3 WHERE space_id = $1 AND version = $2', [space, version, run]);
}

export async function setFastPath(db: Queryable, space: string, version: number, fastPath: unknown): Promise<void> {
  await db.query('UPDATE space_versions SET fast_path = $3 WHERE space_id = $1 AND version = $2', [
    space,
    version,
    JSON.stringify(fastPath),
  ]);
}

// ---- the fast path -----------------------------------------------------------------

/** Base vectors of the items established in both physical spaces: the pairs a map between them is fitted on. */
export async function establishedPairs(db: Queryable, from: string, to: string): Promise<{ from: Buffer; to: Buffer }[]> {
  const r = await db.query<{ from: Buffer; to: Buffer }>(
    `SELECT ef.vector AS "from", et.vector AS "to"
     FROM items a JOIN embeddings ef ON ef.space_id = a.space_id AND ef.item_id = a.id AND ef.version = a.embedding_version
     JOIN items b ON b.space_id = $2 AND b.id = a.id
     JOIN embeddings et ON et.space_id = b.space_id AND et.item_id = b.id AND et.version = b.embedding_version
     WHERE a.space_id = $1 AND a.state = 'established' AND b.state = 'established' AND ef.kind = 'base' AND et.kind = 'base'
     ORDER BY a.id`,
    [from, to],
  );
  return r.rows;
}

/**
 * A page (by id) of the items emerging in `to` that serve nothing yet, with what `from`
 * serves for them (null where it serves nothing: the full path alone reaches those). The
 * page is chosen first (MATERIALIZED: at most `limit` rows, so the joins are index lookups
 * for them, not a pass over both spaces per page).
 */
export async function unmappedPage(
  db: Queryable,
  from: string,
  to: string,
  afterId: string,
  limit: number,
): Promise<{ id: string; vector: Buffer | null }[]> {
  const r = await db.query<{ id: string; vector: Buffer | null }>(
    // the `> $3` bounds on the joined sides too: a merge join would otherwise scan both from the
    // start of the space on every page (quadratic over a promotion)
    `WITH page AS MATERIALIZED (
       SELECT id FROM items WHERE space_id = $2 AND id > $3 AND state <> 'established' AND embedding_version IS NULL
       ORDER BY id LIMIT $4)
     SELECT page.id, e.vector FROM page
     LEFT JOIN items a ON a.space_id = $1 AND a.id = page.id AND a.id > $3
     LEFT JOIN embeddings e ON e.space_id = a.space_id AND e.item_id = a.id AND e.version = a.embedding_version AND e.item_id > $3
     ORDER BY page.id`,
    [from, to, afterId, limit],
  );
  return r.rows;
}

/**
 * Mapped embeddings for items that still serve nothing in `space` (one statement; an item
 * the full path reached meanwhile, or that became established, is left alone).
 */
export async function writeMapped(db: Queryable, space: string, rows: { id: string; vector: Buffer }[]): Promise<number> {
  if (rows.length === 0) return 0;
  const r = await db.query(
    `WITH b AS (SELECT * FROM unnest($2::text[], $3::bytea[]) AS t(id, vec)),
     upd AS (
       UPDATE items i SET embedding_version = 1, updated_at = now()
       FROM b WHERE i.space_id = $1 AND i.id = b.id AND i.embedding_version IS NULL AND i.state <> 'established'
       RETURNING i.id)
     INSERT INTO embeddings (space_id, item_id, version, kind, vector)
     SELECT $1, upd.id, 1, 'mapped', b.vec FROM upd JOIN b ON b.id = upd.id`,
    [space, rows.map((x) => x.id), rows.map((x) => x.vector)],
  );
  return r.rowCount ?? 0;
}

// ---- the full path's progress ------------------------------------------------------

export interface MigrationProgress {
  emerging: number;
  /** emerging items that serve no embedding of the active model yet (mapped or none) */
  waiting: number;
  /** embed and refine tasks of the physical space still to run, and those given up */
  pending: number;
  dead: number;
}

export async function migrationProgress(db: Queryable, physical: string, modelId: number): Promise<MigrationProgress> {
  // An embed write sets the item's cold model and serves its cold (or refined) vector in the same
  // statement, so the item row alone says whether the full path reached it: no join.
  const [items, tasks] = await Promise.all([
    db.query<{ emerging: number; waiting: number }>(
      `SELECT count(*)::int AS emerging, count(*) FILTER (WHERE cold_model IS DISTINCT FROM $2)::int AS waiting
       FROM items WHERE space_id = $1 AND state <> 'established'`,
      [physical, modelId],
    ),
    db.query<{ pending: number; dead: number }>(
      `SELECT count(*) FILTER (WHERE dead_at IS NULL)::int AS pending, count(*) FILTER (WHERE dead_at IS NOT NULL)::int AS dead
       FROM tasks WHERE queue IN ('embed', 'refine') AND starts_with(key, $1 || '/')`,
      [physical],
    ),
  ]);
  return { ...items.rows[0]!, ...tasks.rows[0]! };
}

export async function emergingCount(db: Queryable, physical: string): Promise<number> {
  const r = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM items WHERE space_id = $1 AND state <> 'established'`, [
    physical,
  ]);
  return r.rows[0]!.n;
}

/** Enrichment the space's current version received since the copy: brought over, and the items' text rev bumped. */
export async function syncEnrichment(db: Queryable, from: string, to: string): Promise<string[]> {
  const r = await db.query<{ id: string }>(
    `UPDATE items b SET enrichment = a.enrichment, enrichment_hash = a.enrichment_hash, rev = b.rev + 1, updated_at = now(),
       state = CASE WHEN b.state = 'received' THEN 'enriched' ELSE b.state END
     FROM items a
     WHERE a.space_id = $1 AND b.space_id = $2 AND a.id = b.id AND a.content_hash = b.content_hash
       AND a.enrichment_hash IS NOT NULL AND a.enrichment_hash IS DISTINCT FROM b.enrichment_hash
     RETURNING b.id`,
    [from, to],
  );
  await db.query(
    `UPDATE spaces t SET aux_features = f.aux_features, aux_source = f.aux_source
     FROM spaces f WHERE f.id = $1 AND t.id = $2 AND f.aux_features IS DISTINCT FROM t.aux_features`,
    [from, to],
  );
  return r.rows.map((x) => x.id);
}

/**
 * In the switch's transaction (the space's row locked): interactions the current version
 * has and `to` lacks (a writer whose snapshot predated the version), added; returns the
 * items they touched, whose counts are brought up to date.
 */
export async function catchUpInteractions(db: Queryable, from: string, to: string, since: Date): Promise<string[]> {
  const r = await db.query<{ item: string }>(
    `WITH ins AS (
       INSERT INTO interactions (space_id, event_id, user_id, item_id, label, ts, received_at)
       SELECT $2, event_id, user_id, item_id, label, ts, received_at FROM interactions WHERE space_id = $1 AND received_at >= $3
       ON CONFLICT (space_id, event_id) DO NOTHING RETURNING item_id)
     SELECT DISTINCT item_id AS item FROM ins`,
    [from, to, since],
  );
  const items = r.rows.map((x) => x.item);
  if (items.length)
    await db.query(
      `UPDATE items i SET interactions = (SELECT count(*) FROM interactions x WHERE x.space_id = i.space_id AND x.item_id = i.id)
       WHERE i.space_id = $1 AND i.id = ANY($2::text[])`,
      [to, items],
    );
  return items;
}

/** Pending work of a physical space that is no longer followed (retired, pruned): dropped. */
export async function dropSpaceTasks(db: Queryable, physical: string): Promise<number> {
  const r = await db.query(`DELETE FROM tasks WHERE queue IN ('enrich', 'embed', 'refine') AND starts_with(key, $1 || '/')`, [physical]);
  return r.rowCount ?? 0;
}

/** Retired versions beyond the newest `keep`: their rows removed (their data goes with pruneData). */
export async function retiredBeyond(db: Queryable, space: string, keep: number): Promise<VersionRow[]> {
  const all = await listVersions(db, space);
  const retired = all.filter((v) => v.state === 'retired').sort((a, b) => (b.retiredAt?.getTime() ?? 0) - (a.retiredAt?.getTime() ?? 0));
  return retired.slice(keep);
}

export async function deleteVersionRow(db: Queryable, space: string, version: number): Promise<void> {
  await db.query('DELETE FROM space_versions WHERE space_id = $1 AND version = $2', [space, version]);
}

/**
 * The data of a pruned version. A later version's own row goes with everything keyed by
 * it (ON DELETE CASCADE); version 1 lives in the space's own row, which stays: its items,
 * users, interactions and models are deleted instead.
 */
export async function pruneData(db: Queryable, space: string, physical: string): Promise<void> {
  if (physical !== space) {
    await db.query('DELETE FROM spaces WHERE id = $1 AND root_id = $2', [physical, space]);
    return;
  }
  await db.query('UPDATE spaces SET active_model = NULL WHERE id = $1', [space]);
  await db.query('DELETE FROM items WHERE space_id = $1', [space]);
  await db.query('DELETE FROM interactions WHERE space_id = $1', [space]);
  await db.query('DELETE FROM users WHERE space_id = $1', [space]);
  await db.query(`DELETE FROM train_runs WHERE space_id = $1 AND kind = 'train'`, [space]);
  await db.query('DELETE FROM models WHERE space_id = $1', [space]);
}
