// Gathers what training learns from: established items (text → r, base embedding,
// time-ordered interactions with users that have vectors) and the encoder, fitted on
// every item of the space so rare words of emerging items get their IDF too. With the
// offline encoder the fit and the encoding are left to the training thread (`fit`): over
// 100,000 items they are seconds of synchronous work, which on this thread would stall
// the process's HTTP answers (ROLE=all) and its job locks.
import type { Db } from '../db/pool.js';
import { itemsForTraining } from '../db/items.js';
import { baseEmbeddings } from '../db/embeddings.js';
import { establishedEvents } from '../db/interactions.js';
import { allUserVectors } from '../db/users.js';
import { assembleTrainingData, type EncoderState, type TrainingData } from '../model/index.js';
import type { LlmClient } from '../llm/index.js';
import { itemText } from './item-vector.js';
import { PermanentError } from './run-task.js';

export interface PreparedTraining {
  /** items' `r` are empty when `fit` is given: the thread fills them */
  data: TrainingData;
  /** the external encoder's state; null when the thread fits the offline one (`fit`) */
  encoderState: EncoderState | null;
  /** for the training thread: the texts of the established items (in `data.items` order) and the corpus to fit on */
  fit: { texts: string[]; corpus: string[] } | null;
  counts: { items: number; interactions: number; users: number };
}

const ENCODE_BATCH = 256;
/** Items serialised between two turns of the event loop (100,000 at once would hold it for a second). */
const TEXT_CHUNK = 5000;

async function textsYielding(items: Parameters<typeof itemText>[0][]): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < items.length; i += TEXT_CHUNK) {
    for (const it of items.slice(i, i + TEXT_CHUNK)) out.push(itemText(it));
    await new Promise<void>((r) => setImmediate(r));
  }
  return out;
}

export async function prepareTraining(
  db: Db,
  spaceId: string,
  dim: number,
  llm: LlmClient | null,
  onProgress: (f: number) => void,
): Promise<PreparedTraining> {
  const [established, emerging, bases, events, users] = await Promise.all([
    itemsForTraining(db, spaceId, true),
    itemsForTraining(db, spaceId, false),
    baseEmbeddings(db, spaceId),
    establishedEvents(db, spaceId),
    allUserVectors(db, spaceId),
  ]);
  const withBase = established.filter((i) => bases.has(i.id));
  if (withBase.length < 2)
    throw new PermanentError(`training needs at least 2 established items with embeddings; space "${spaceId}" has ${withBase.length}`);

  const texts = withBase.map(itemText);
  const external = llm?.embedder() ?? null;
  const r: Float32Array[] = [];
  // The external encoder is an HTTP call away: encoded here, in batches, with progress.
  if (external)
    for (let i = 0; i < texts.length; i += ENCODE_BATCH) {
      r.push(...(await external.encode(texts.slice(i, i + ENCODE_BATCH))));
      onProgress(Math.min(1, (i + ENCODE_BATCH) / texts.length));
    }

  // events of items without a base vector never reach the data: their item is not in it
  const { data, used } = assembleTrainingData({
    dim,
    items: withBase.map((it, i) => ({ id: it.id, r: r[i] ?? new Float32Array(0), base: bases.get(it.id)! })),
    events: events.map((e) => ({ itemId: e.itemId, userId: e.userId, label: e.label, ts: e.ts.getTime() })),
    users,
  });
  return {
    data,
    encoderState: external ? { kind: 'external', id: external.id } : null,
    fit: external ? null : { texts, corpus: [...texts, ...(await textsYielding(emerging))] },
    counts: { items: data.items.length, interactions: used, users: data.contexts.length },
  };
}
