// Interaction events arrive (event pipeline): stored once per event id, counted on their
// item, and each emerging item touched gets its refine task bumped — however many events
// it received, one refinement follows.
import { withTx, type Db } from '../db/pool.js';
import { insertEvents, type EventIn } from '../db/interactions.js';
import { addInteractionCounts } from '../db/items.js';
import { enqueue, type Trace } from './enqueue.js';

export async function recordEvents(db: Db, spaceId: string, events: EventIn[], trace: Trace): Promise<{ accepted: number; duplicates: number }> {
  // In id order, so two overlapping batches (a client resending) wait on each other's
  // new keys in one order rather than deadlock.
  const sorted = [...events].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const accepted = await withTx(db, async (tx) => {
    const perItem = await insertEvents(tx, spaceId, sorted);
    const emerging = await addInteractionCounts(tx, spaceId, perItem);
    await enqueue(tx, 'refine', emerging.map((item) => ({ space: spaceId, item })), trace);
    let n = 0;
    for (const c of perItem.values()) n += c;
    return n;
  });
  return { accepted, duplicates: events.length - accepted };
}
