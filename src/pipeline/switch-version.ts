// The switch: a migrated version becomes the space's current one, in one transaction that
// holds the space's row FOR UPDATE, so no writer of shared data is between versions. It
// first brings over any interaction the current version has and the new one lacks (a
// writer whose snapshot predated the version's creation; see migration 007), asks for
// their items' refinement in the new version, then retires the current version, makes the
// new one current, and drops the versions retired beyond the newest `keep` (their data
// is deleted after the commit: pruneVersions). Lookups resolve the version once per request,
// so an answer is all old or all new.
import { withTx, type Db, type Queryable } from '../db/pool.js';
import {
  catchUpInteractions,
  deleteVersionRow,
  dropSpaceTasks,
  listVersions,
  lockSpaceForVersions,
  pruneData,
  retiredBeyond,
  setVersionState,
  type VersionRow,
} from '../db/space-versions.js';
import { enqueue, type Trace } from './enqueue.js';

// Interactions received this long before the version was created are looked at again:
// a statement that began before it committed cannot have been running for longer.
const CATCH_UP_MARGIN_MS = 15 * 60_000;

export interface SwitchResult {
  switched: boolean;
  from: number | null;
  caughtUp: number;
  pruned: { version: number; physicalId: string }[];
}

export async function switchVersion(
  db: Db,
  space: string,
  version: number,
  keep: number,
  trace: Trace,
  finish: (tx: Queryable, r: SwitchResult) => Promise<void>,
): Promise<SwitchResult> {
  return withTx(db, async (tx) => {
    await lockSpaceForVersions(tx, space);
    const versions = await listVersions(tx, space);
    const v = versions.find((x) => x.version === version);
    const current = versions.find((x) => x.state === 'current');
    if (!v || v.state !== 'migrating' || !current) {
      const r = { switched: false, from: current?.version ?? null, caughtUp: 0, pruned: [] };
      await finish(tx, r);
      return r;
    }
    const since = new Date(v.createdAt.getTime() - CATCH_UP_MARGIN_MS);
    const touched = await catchUpInteractions(tx, current.physicalId, v.physicalId, since);
    await enqueue(
      tx,
      'refine',
      touched.map((item) => ({ space: v.physicalId, item })),
      trace,
    );
    await setVersionState(tx, space, current.version, ['current'], 'retired');
    await setVersionState(tx, space, version, ['migrating'], 'current');
    // the retired version is no longer refined: its pending work is dropped
    await dropSpaceTasks(tx, current.physicalId);
    const pruned: VersionRow[] = await retiredBeyond(tx, space, keep);
    for (const p of pruned) await deleteVersionRow(tx, space, p.version);
    const r = {
      switched: true,
      from: current.version,
      caughtUp: touched.length,
      pruned: pruned.map((p) => ({ version: p.version, physicalId: p.physicalId })),
    };
    await finish(tx, r);
    return r;
  });
}

/** The data of versions whose rows the switch removed; idempotent, so a rerun after a crash finishes it. */
export async function pruneVersions(db: Db, space: string, pruned: { physicalId: string }[]): Promise<void> {
  for (const p of pruned) await withTx(db, (tx) => pruneData(tx, space, p.physicalId));
}
