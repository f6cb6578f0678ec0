// An item is forgotten: its row, vectors, embeddings and interactions, and its pending
// work. A job of it still in flight finds the item gone, or — if the id was created again
// meanwhile — another incarnation, and writes nothing.
import { withTx, type Db } from '../db/pool.js';
import { deleteItem as deleteItemRows } from '../db/items.js';
import { dropTasks } from '../db/tasks.js';
import { taskKey } from '../jobs/queues.js';

export async function deleteItem(db: Db, spaceId: string, id: string): Promise<boolean> {
  return withTx(db, async (tx) => {
    if (!(await deleteItemRows(tx, spaceId, id))) return false;
    const ref = { space: spaceId, item: id };
    await dropTasks(tx, [
      { queue: 'enrich', key: taskKey.enrich({ ...ref, hash: '' }) },
      { queue: 'embed', key: taskKey.embed(ref) },
      { queue: 'refine', key: taskKey.refine(ref) },
    ]);
    return true;
  });
}
