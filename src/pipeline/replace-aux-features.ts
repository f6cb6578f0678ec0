// The auxiliary features the LLM fills in are replaced (by the user, or proposed by the
// LLM for a space that had none): emerging items (and established ones, with
// ENRICH_ESTABLISHED) are enriched again with the new list.
import { withTx, type Db } from '../db/pool.js';
import { setAuxFeatures, type AuxFeature } from '../db/spaces.js';
import { itemsForReenrichment } from '../db/items.js';
import { auxHash } from '../llm/index.js';
import { enqueue, type Trace } from './enqueue.js';

/** False when there is no such space. */
export async function replaceAuxFeatures(
  db: Db,
  spaceId: string,
  features: AuxFeature[],
  opts: Trace & { enrich: boolean; enrichEstablished?: boolean },
): Promise<boolean> {
  return withTx(db, async (tx) => {
    if (!(await setAuxFeatures(tx, spaceId, features, 'user'))) return false;
    // Enrichments made for the old list are redone with the new one (the old ones stay visible meanwhile).
    if (opts.enrich) {
      const items = await itemsForReenrichment(tx, spaceId, opts.enrichEstablished ?? false);
      const schema = auxHash(features);
      await enqueue(
        tx,
        'enrich',
        items.map((i) => ({ space: spaceId, item: i.id, hash: i.contentHash, auxHash: schema })),
        opts,
      );
    }
    return true;
  });
}
