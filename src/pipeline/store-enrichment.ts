// The LLM's answer for an item is stored — only if it was made for the item's current
// content — and the item is embedded again with it (its text changed: `rev` rose).
import type { Queryable } from '../db/pool.js';
import { setEnrichment } from '../db/items.js';
import { enqueue, type Trace } from './enqueue.js';

export async function storeEnrichment(
  tx: Queryable,
  spaceId: string,
  itemId: string,
  forHash: string,
  enrichment: Record<string, unknown>,
  trace: Trace,
): Promise<boolean> {
  const stored = await setEnrichment(tx, spaceId, itemId, forHash, enrichment);
  // If the content changed meanwhile, a newer enrich task exists and this answer is dropped.
  if (stored) await enqueue(tx, 'embed', [{ space: spaceId, item: itemId }], trace);
  return stored;
}
