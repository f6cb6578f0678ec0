// An item is forgotten: its row, vectors, embeddings and interactions, and its pending
// work, in every version of its space (retired ones too: forgetting is not a rollover). A job of it still in flight finds
// the item gone, or — if the id was created again meanwhile — another incarnation, and
// writes nothing.
import { withTx, type Db } from '../db/pool.js';
import { retiredPhysicalIds, writeTargets } from '../db/space-versions.js';
import { deleteItem as deleteItemRows } from '../db/items.js';
import { dropTasks } from '../db/tasks.js';
import { taskKey } from '../jobs/queues.js';

/** Returns the physical spaces the item was deleted from (none: there was no such item). */
export async function deleteItem(db: Db, space: string, id: string): Promise<string[]> {
  return withTx(db, async (tx) => {
    const from: string[] = [];
    // in physical-id order, the one lock order across versions (docs/DESIGN.md, "Locks")
    const versions = [...(await writeTargets(tx, space)), ...(await retiredPhysicalIds(tx, space))].sort();
    for (const spaceId of versions) {
      if (!(await deleteItemRows(tx, spaceId, id))) continue;
      const ref = { space: spaceId, item: id };
      await dropTasks(tx, [
        { queue: 'enrich', key: taskKey.enrich({ ...ref, hash: '' }) },
        { queue: 'embed', key: taskKey.embed(ref) },
        { queue: 'refine', key: taskKey.refine(ref) },
      ]);
      from.push(spaceId);
    }
    return from;
  });
}
