// The LLM's answer for an item is stored — only if it was made for the item's current
// content — and an emerging item is embedded again with it (its text changed: `rev` rose).
// An established item keeps its recommender's vector: its enrichment is for training, whose
// aligner learns from established items' text what it then applies to emerging items' text.
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
  if (stored && stored.state !== 'established') await enqueue(tx, 'embed', [{ space: spaceId, item: itemId }], trace);
  return stored !== null;
}
