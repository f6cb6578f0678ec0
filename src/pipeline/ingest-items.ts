// Items arrive (catalogue webhook): established ones with the recommender's own vector
// get it as their base embedding at once; emerging ones are stored and their embed (and,
// with an LLM, enrich) tasks are written in the same transaction. Features belong to the
// space, so they go to every version it follows (current, staging, migrating); a vector
// belongs to one version (`vectorsTo`), where its item is established.
import { withTx, type Db, type Queryable } from '../db/pool.js';
import { writeTargets } from '../db/space-versions.js';
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

/**
 * `space` is the space, `vectorsTo` the physical space of the version the vectors are for.
 * Null when that version is no longer followed (retired meanwhile).
 */
export async function ingestItems(
  db: Db,
  space: string,
  vectorsTo: string,
  items: ItemInput[],
  opts: Trace & { enrich: boolean; enrichEstablished?: boolean },
): Promise<IngestResult | null> {
  // The last occurrence of an id in a request wins; sorted, so concurrent writers lock rows in one order.
  const unique = [...new Map(items.map((it) => [it.id, it])).values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return withTx(db, async (tx) => {
    const targets = await writeTargets(tx, space);
    if (!targets.includes(vectorsTo)) return null;
    let primary: IngestResult | null = null;
    for (const t of targets) {
      const withVectors = t === vectorsTo;
      const w = await ingestInto(tx, t, withVectors ? unique : unique.map(({ embedding: _, ...it }) => it), opts);
      if (withVectors) primary = { ...w, unchanged: items.length - w.accepted };
    }
    return primary;
  });
}

/** The items into one physical space, in the caller's transaction. */
async function ingestInto(
  tx: Queryable,
  spaceId: string,
  unique: ItemInput[],
  opts: Trace & { enrich: boolean; enrichEstablished?: boolean },
): Promise<IngestResult> {
  const rows = unique.map((it) => ({
    id: it.id,
    features: it.features,
    contentHash: contentHash(it.features, it.embedding),
    established: !!it.embedding,
  }));
  const byId = new Map(unique.map((it) => [it.id, it]));
  const hashOf = new Map(rows.map((r) => [r.id, r.contentHash]));
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
  // Established items too (ENRICH_ESTABLISHED): training's aligner learns from their text what it
  // applies to emerging items' text, so both must be made the same way.
  if (opts.enrich) {
    const toEnrich = opts.enrichEstablished ? [...w.emerging, ...w.established, ...w.featuresOnly] : w.emerging;
    await enqueue(
      tx,
      'enrich',
      toEnrich.map((item) => ({ space: spaceId, item, hash: hashOf.get(item)! })),
      opts,
    );
  }
  const accepted = w.established.length + w.emerging.length + w.featuresOnly.length;
  return { accepted, unchanged: unique.length - accepted, established: w.established, emerging: w.emerging };
}
