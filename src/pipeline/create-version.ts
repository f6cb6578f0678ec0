// A new space version is asked for (the recommender retrained): a staging version in a
// physical space of its own, holding a copy of the space's shared data, created in one
// transaction that holds the space's row FOR UPDATE — every writer of shared data waits
// for it, or committed before it and is in the copy (migration 007). Each staging version
// is a copy, so a space has at most VERSIONS_MAX_STAGING of them; one can be given up.
import { withTx, type Db } from '../db/pool.js';
import {
  analyzeCopies,
  deleteVersionRow,
  dropSpaceTasks,
  insertVersion,
  listVersions,
  lockSpaceForVersions,
  type VersionRow,
} from '../db/space-versions.js';
import { pruneVersions } from './switch-version.js';

// Copies this large shift the tables' statistics enough to be worth an ANALYZE at once.
const ANALYZE_FROM_ITEMS = 10_000;

export type CreateAnswer = VersionRow | { refused: 'not_found' | 'too_many_staging'; detail: string };

export async function createVersion(db: Db, space: string, dim: number | null, maxStaging: number): Promise<CreateAnswer> {
  const v = await withTx(db, async (tx): Promise<CreateAnswer & { copiedItems?: number }> => {
    if (!(await lockSpaceForVersions(tx, space))) return { refused: 'not_found', detail: `space "${space}" not found` };
    const versions = await listVersions(tx, space);
    const staging = versions.filter((x) => x.state === 'staging').map((x) => x.version);
    if (staging.length >= maxStaging)
      return {
        refused: 'too_many_staging',
        detail: `space "${space}" has ${staging.length} staging versions (${staging.join(', ')}); promote or delete one first`,
      };
    const current = versions.find((x) => x.state === 'current');
    if (!current) throw new Error(`space "${space}" has no current version`);
    return insertVersion(tx, space, current.physicalId, dim);
  });
  // after the commit: writers wait on the space's row only for the copy itself
  if ('copiedItems' in v && (v.copiedItems ?? 0) >= ANALYZE_FROM_ITEMS) await analyzeCopies(db);
  return v;
}

/** A staging version given up: its row and its data. False when it is not staging (or not there). */
export async function deleteStagingVersion(db: Db, space: string, version: number): Promise<VersionRow | null> {
  const gone = await withTx(db, async (tx) => {
    if (!(await lockSpaceForVersions(tx, space))) return null;
    const v = (await listVersions(tx, space)).find((x) => x.version === version);
    if (!v || v.state !== 'staging') return v ?? null;
    await deleteVersionRow(tx, space, version);
    await dropSpaceTasks(tx, v.physicalId);
    return v;
  });
  if (gone?.state === 'staging') await pruneVersions(db, space, [gone]);
  return gone;
}
