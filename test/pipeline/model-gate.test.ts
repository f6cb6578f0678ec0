// The activation gate and rollback against a real Postgres: a trained model replaces the
// active one only if its weights are finite and its held-out loss is not worse beyond the
// tolerance; a refused model is stored, the run says why, and any stored model can be
// activated by hand (rollback), which re-embeds every emerging item.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createPool, type Db } from '../../src/db/pool.js';
import { migrate } from '../../src/db/migrate.js';
import { createSpace, getSpace } from '../../src/db/spaces.js';
import { createRun, getRun } from '../../src/db/train-runs.js';
import { listModels } from '../../src/db/models.js';
import { getTask } from '../../src/db/tasks.js';
import { ingestItems } from '../../src/pipeline/ingest-items.js';
import { activateModel, activateStoredModel } from '../../src/pipeline/activate-model.js';
import { gateModel } from '../../src/pipeline/model-gate.js';
import type { ModelArtifact } from '../../src/model/artifact.js';
import { defer, freshDatabase } from '../support/service.js';

const S = 'gate';

function artifact(loss: number, weight = 0.5): ModelArtifact {
  const data = Buffer.from(Float32Array.from([weight, 1, 2]).buffer).toString('base64');
  return {
    format: 'emerflow/1',
    dim: 4,
    inputDim: 4,
    encoder: {} as ModelArtifact['encoder'],
    seed: 1,
    weights: { 'align/w': { shape: [3], data } },
    hyper: {},
    metrics: { metaValLoss: loss },
    trainedAt: new Date(0).toISOString(),
  };
}

test('gateModel: finite weights, and a held-out loss within the tolerance of the active one', () => {
  assert.equal(gateModel(artifact(0.5), null, 0.05).activate, true);
  assert.equal(gateModel(artifact(0.52), { metrics: { metaValLoss: 0.5 } }, 0.05).activate, true);
  const worse = gateModel(artifact(0.6), { metrics: { metaValLoss: 0.5 } }, 0.05);
  assert.equal(worse.activate, false);
  assert.match(worse.reason, /worse than the active model's 0\.5000/);
  const nan = gateModel(artifact(0.4, NaN), null, 0.05);
  assert.equal(nan.activate, false);
  assert.match(nan.reason, /weight align\/w is not finite/);
  // nothing held out (a tiny space): the weights decide alone
  assert.equal(gateModel(artifact(NaN), { metrics: { metaValLoss: 0.5 } }, 0.05).activate, true);
});

async function setup(t: TestContext): Promise<Db> {
  const db = createPool(await freshDatabase(t), { max: 4 });
  defer(t, () => db.end());
  await migrate(db);
  await createSpace(db, { id: S, dim: 4, itemType: 'movie', scorer: 'dot' });
  await ingestItems(db, S, S, [{ id: 'new', features: { title: 'New' } }], { enrich: false });
  return db;
}

async function trainRun(db: Db, loss: number, weight = 0.5) {
  const run = `run-${loss}-${weight}`;
  await createRun(db, run, S);
  const out = await activateModel(
    db,
    {
      spaceId: S,
      run,
      encoder: 'test@1/4',
      seed: 1,
      artifact: artifact(loss, weight),
      metrics: { metaValLoss: loss },
      gateTolerance: 0.05,
    },
    (model, reembedding, gate) => ({ modelVersion: model.version, activated: gate.activate, reason: gate.reason, reembedding }),
    async () => {},
    {},
  );
  return { ...out, run: (await getRun(db, run))! };
}

test('a refused model is stored inactive and its run says why; rollback activates a stored one', async (t) => {
  const db = await setup(t);
  const first = await trainRun(db, 0.5);
  assert.equal(first.activated, true);
  assert.equal((await getSpace(db, S))!.activeModel, first.modelId);

  const worse = await trainRun(db, 0.7);
  assert.equal(worse.activated, false);
  assert.equal(worse.run.state, 'completed');
  assert.match(String((worse.run.result as { reason: string }).reason), /worse than the active model's/);
  assert.equal((await getSpace(db, S))!.activeModel, first.modelId, 'the active model stays');

  const broken = await trainRun(db, 0.4, NaN);
  assert.equal(broken.activated, false);

  const better = await trainRun(db, 0.45);
  assert.equal(better.activated, true);
  const models = await listModels(db, S);
  assert.deepEqual(
    models.map((m) => [m.version, m.active, m.gate?.['activate']]),
    [
      [4, true, true],
      [3, false, false],
      [2, false, false],
      [1, false, true],
    ],
  );

  // rollback to model 1: active again, and the emerging item is re-embedded with it
  await db.query(`DELETE FROM tasks WHERE queue = 'embed'`);
  const back = await activateStoredModel(db, S, 1, {});
  assert.deepEqual(back, { modelId: first.modelId, previous: better.modelId, reembedding: 1 });
  assert.equal((await getSpace(db, S))!.activeModel, first.modelId);
  assert.ok(await getTask(db, 'embed', `${S}/new`), 'the emerging item is scheduled for re-embedding');
  assert.equal(await activateStoredModel(db, S, 99, {}), null);
});
