// Items arrive (catalogue webhook): established ones with the recommender's own vector
// get it as their base embedding at once; emerging ones are stored and their embed (and,
// with an LLM, enrich) tasks are written in the same transaction.
import { withTx, type Db } from '../db/pool.js';
import { recountInteractions, upsertItems } from '../db/items.js';
import { appendEmbeddings } from '../db/embeddings.js';
import { contentHash } from './content-hash.js';
import { enqueue, type Trace } from './enqueue.js';

export interface ItemInput {
  id: string;
  features: Record<string, unknown>;
  embedding?: number[] | undefined;
}
export interface IngestResult {
  accepted: number;
  unchanged: number;
  established: string[];
  emerging: string[];
}

export async function ingestItems(db: Db, spaceId: string, items: ItemInput[], opts: Trace & { enrich: boolean }): Promise<IngestResult> {
  // The last occurrence of an id in a request wins; sorted, so concurrent writers lock rows in one order.
  const unique = [...new Map(items.map((it) => [it.id, it])).values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const rows = unique.map((it) => ({
    id: it.id,
    features: it.features,
    contentHash: contentHash(it.features, it.embedding),
    established: !!it.embedding,
  }));
  const byId = new Map(unique.map((it) => [it.id, it]));
  const hashOf = new Map(rows.map((r) => [r.id, r.contentHash]));
  const written = await withTx(db, async (tx) => {
    const w = await upsertItems(tx, spaceId, rows);
    await appendEmbeddings(
      tx,
      spaceId,
      'base',
      'established',
      w.established.map((id) => ({ id, vector: byId.get(id)!.embedding! })),
    );
    // Events may arrive before their item: count them now.
    await recountInteractions(tx, spaceId, w.emerging);
    await enqueue(
      tx,
      'embed',
      w.emerging.map((item) => ({ space: spaceId, item })),
      opts,
    );
    if (opts.enrich)
      await enqueue(
        tx,
        'enrich',
        w.emerging.map((item) => ({ space: spaceId, item, hash: hashOf.get(item)! })),
        opts,
      );
    return w;
  });
  const accepted = written.established.length + written.emerging.length + written.featuresOnly.length;
  return { accepted, unchanged: items.length - accepted, established: written.established, emerging: written.emerging };
}
