// Guarded writes: each race the pipeline can lose is forced here, in the order that used to
// serve the wrong embedding, against a real Postgres. The writes are the ones the embed and
// refine jobs make (pipeline/store-embeddings), from stamps read the way the jobs read them.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createPool, type Db } from '../../src/db/pool.js';
import { migrate } from '../../src/db/migrate.js';
import { createSpace, setActiveModel } from '../../src/db/spaces.js';
import { insertModel } from '../../src/db/models.js';
import { loadPipelineItems, type PipelineItem } from '../../src/db/items.js';
import { latestEmbeddings } from '../../src/db/embeddings.js';
import { ingestItems } from '../../src/pipeline/ingest-items.js';
import { recordEvents } from '../../src/pipeline/record-events.js';
import { deleteItem } from '../../src/pipeline/delete-item.js';
import { storeColdEmbeddings, storeRefinedEmbeddings } from '../../src/pipeline/store-embeddings.js';
import { defer, freshDatabase } from '../support/service.js';

const S = 'g';
const vec = (x: number) => Float32Array.from([x, x, x, x]);

async function setup(t: TestContext): Promise<{ db: Db; model: number }> {
  const db = createPool(await freshDatabase(t), { max: 4 });
  defer(t, () => db.end());
  await migrate(db);
  await createSpace(db, { id: S, dim: 4, itemType: 'movie', scorer: 'dot' });
  const model = await newModel(db);
  return { db, model };
}

async function newModel(db: Db): Promise<number> {
  const m = await insertModel(db, { spaceId: S, encoder: 'test@1/4', seed: 1, artifact: {}, metrics: {} });
  await setActiveModel(db, S, m.id);
  return m.id;
}

async function read(db: Db, id: string): Promise<PipelineItem> {
  const it = (await loadPipelineItems(db, S, [id], 200)).get(id);
  assert.ok(it, `item ${id} exists`);
  return it;
}

const stamp = (it: PipelineItem) => ({ id: it.id, incarnation: it.incarnation, rev: it.rev, watermark: it.watermark });

async function events(db: Db, item: string, ids: string[]): Promise<void> {
  await recordEvents(
    db,
    S,
    ids.map((id) => ({ id, userId: 'u', itemId: item, label: 1, ts: new Date() })),
    {},
  );
}

async function cold(db: Db, model: number, it: PipelineItem, x: number, n = 0): Promise<string[]> {
  return storeColdEmbeddings(db, S, model, 3, [{ ...stamp(it), cold: vec(x), served: vec(x), interactions: n }]);
}

async function refined(db: Db, model: number, it: PipelineItem, x: number, coldRev = it.rev): Promise<string[]> {
  return storeRefinedEmbeddings(db, S, model, 3, [{ ...stamp(it), rev: coldRev, vector: vec(x), interactions: it.events.length }]);
}

async function served(db: Db, id: string) {
  const [e] = await latestEmbeddings(db, S, [id]);
  return e ? { x: e.vector[0], kind: e.kind, interactions: e.interactions } : null;
}

test('a slower, older refinement finishing after a newer one is dropped', async (t) => {
  const { db, model } = await setup(t);
  await ingestItems(db, S, S, [{ id: 'a', features: { title: 'A' } }], { enrich: false });
  assert.deepEqual(await cold(db, model, await read(db, 'a'), 1), ['a']);
  await events(db, 'a', ['e1', 'e2']);
  const older = await read(db, 'a'); // the slow job reads 2 events
  await events(db, 'a', ['e3']);
  const newer = await read(db, 'a'); // a later job reads 3 and commits first
  assert.deepEqual(await refined(db, model, newer, 3), ['a']);
  assert.deepEqual(await refined(db, model, older, 2), [], 'the older write is dropped');
  assert.deepEqual(await served(db, 'a'), { x: 3, kind: 'refined', interactions: 3 });
  // the same read again writes nothing either (nothing new)
  assert.deepEqual(await refined(db, model, newer, 3), []);
});

test('an embed or refine that read an emerging item cannot flip it back from established', async (t) => {
  const { db, model } = await setup(t);
  await ingestItems(db, S, S, [{ id: 'b', features: { title: 'B' } }], { enrich: false });
  await cold(db, model, await read(db, 'b'), 1);
  await events(db, 'b', ['e1']);
  const seen = await read(db, 'b');
  // the recommender pushes the item's own vector meanwhile
  await ingestItems(db, S, S, [{ id: 'b', features: { title: 'B' }, embedding: [9, 9, 9, 9] }], { enrich: false });
  assert.deepEqual(await refined(db, model, seen, 5), []);
  assert.deepEqual(await cold(db, model, seen, 6), []);
  assert.deepEqual(await served(db, 'b'), { x: 9, kind: 'base', interactions: 0 });
});

test('a job of a deleted item cannot write into the item re-created under the same id', async (t) => {
  const { db, model } = await setup(t);
  await ingestItems(db, S, S, [{ id: 'c', features: { title: 'C' } }], { enrich: false });
  const old = await read(db, 'c');
  assert.deepEqual(await deleteItem(db, S, 'c'), [S]);
  await ingestItems(db, S, S, [{ id: 'c', features: { title: 'C' } }], { enrich: false });
  const fresh = await read(db, 'c');
  assert.notEqual(fresh.incarnation, old.incarnation);
  assert.equal(fresh.rev, old.rev, 'same content, same rev: only the incarnation tells them apart');
  assert.deepEqual(await cold(db, model, old, 1), [], 'the old incarnation writes nothing');
  assert.equal(await served(db, 'c'), null);
  assert.deepEqual(await cold(db, model, fresh, 2), ['c']);
});

test("a refinement with the old model cannot land after the new model's re-embed", async (t) => {
  const { db, model: first } = await setup(t);
  await ingestItems(db, S, S, [{ id: 'd', features: { title: 'D' } }], { enrich: false });
  await cold(db, first, await read(db, 'd'), 1);
  await events(db, 'd', ['e1']);
  const withOld = await read(db, 'd');
  const second = await newModel(db); // training activates a new model…
  assert.deepEqual(await cold(db, second, await read(db, 'd'), 2, 1), ['d']); // …and re-embeds
  assert.deepEqual(await refined(db, first, withOld, 7), [], 'the old model is no longer active');
  const [e] = await latestEmbeddings(db, S, ['d']);
  assert.equal(e?.vector[0], 2);
  assert.equal(e?.kind, 'refined');
});

test('an embed of old text cannot land after the text changed, nor refine from a superseded cold embedding', async (t) => {
  const { db, model } = await setup(t);
  await ingestItems(db, S, S, [{ id: 'e', features: { title: 'E' } }], { enrich: false });
  const before = await read(db, 'e');
  await ingestItems(db, S, S, [{ id: 'e', features: { title: 'E, revised' } }], { enrich: false });
  const after = await read(db, 'e');
  assert.equal(after.rev, before.rev + 1);
  assert.deepEqual(await cold(db, model, before, 1), [], 'the old text is not embedded');
  assert.deepEqual(await cold(db, model, after, 2), ['e']);
  await events(db, 'e', ['e1']);
  const it = await read(db, 'e');
  assert.deepEqual(await refined(db, model, it, 3, before.rev), [], 'refined from the old cold embedding: dropped');
  assert.deepEqual(await refined(db, model, it, 4, after.rev), ['e']);
});

test('retention keeps the newest versions and never the served one out', async (t) => {
  const { db, model } = await setup(t);
  await ingestItems(db, S, S, [{ id: 'f', features: { title: 'F' } }], { enrich: false });
  await cold(db, model, await read(db, 'f'), 0);
  for (let k = 1; k <= 6; k++) {
    await events(db, 'f', [`e${k}`]);
    assert.deepEqual(await refined(db, model, await read(db, 'f'), k), ['f']);
  }
  const versions = (
    await db.query<{ version: number }>('SELECT version FROM embeddings WHERE item_id = $1 ORDER BY version', ['f'])
  ).rows.map((r) => r.version);
  assert.deepEqual(versions, [5, 6, 7]);
  assert.deepEqual(await served(db, 'f'), { x: 6, kind: 'refined', interactions: 6 });
});
