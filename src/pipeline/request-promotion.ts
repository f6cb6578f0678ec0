// A promotion is asked for: a run (kind promote, under the space's own row, so GET
// /v1/jobs/:id shows it) and its task, in one transaction. Asking again while one runs
// answers that run; one version of a space migrates at a time (space_versions_one_migrating).
import crypto from 'node:crypto';
import { withTx, type Db } from '../db/pool.js';
import { activeRun, createRun } from '../db/train-runs.js';
import { getVersion, listVersions, setPromoteRun } from '../db/space-versions.js';
import { enqueue, type Trace } from './enqueue.js';

export type PromotionAnswer =
  { run: string; existing: boolean } | { refused: 'version_not_found' | 'not_staging' | 'another_migrating'; detail: string };

export async function requestPromotion(db: Db, space: string, version: number, seed: number, trace: Trace): Promise<PromotionAnswer> {
  return withTx(db, async (tx) => {
    await tx.query('SELECT 1 FROM spaces WHERE id = $1 FOR NO KEY UPDATE', [space]);
    const v = await getVersion(tx, space, version);
    if (!v) return { refused: 'version_not_found', detail: `space "${space}" has no version ${version}` };
    const running = await activeRun(tx, space, 'promote');
    if (running) {
      if (v.promoteRun === running) return { run: running, existing: true };
      const other = (await listVersions(tx, space)).find((x) => x.promoteRun === running);
      const which = other ? `version ${other.version}` : 'another version';
      return { refused: 'another_migrating', detail: `${which} of space "${space}" is being promoted (job ${running})` };
    }
    if (v.state !== 'staging')
      return { refused: 'not_staging', detail: `version ${version} of space "${space}" is ${v.state}, not staging` };
    const run = crypto.randomUUID();
    await createRun(tx, run, space, 'promote');
    await setPromoteRun(tx, space, version, run);
    await enqueue(tx, 'promote', [{ space, version, run, seed }], trace);
    return { run, existing: false };
  });
}
