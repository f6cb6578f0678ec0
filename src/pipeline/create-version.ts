// A new space version is asked for (the recommender retrained): a staging version in a
// physical space of its own, holding a copy of the space's shared data, created in one
// transaction that holds the space's row FOR UPDATE — every writer of shared data waits
// for it, or committed before it and is in the copy (migration 007).
import { withTx, type Db } from '../db/pool.js';
import { analyzeCopies, insertVersion, listVersions, lockSpaceForVersions, type VersionRow } from '../db/space-versions.js';

export async function createVersion(db: Db, space: string, dim: number | null): Promise<VersionRow | null> {
  const v = await withTx(db, async (tx) => {
    if (!(await lockSpaceForVersions(tx, space))) return null;
    const current = (await listVersions(tx, space)).find((x) => x.state === 'current');
    if (!current) throw new Error(`space "${space}" has no current version`);
    return insertVersion(tx, space, current.physicalId, dim);
  });
  // after the commit: writers wait on the space's row only for the copy itself
  if (v) await analyzeCopies(db);
  return v;
}
