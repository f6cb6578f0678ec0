// The replay through the API, end to end on a synthetic dataset in the generic layout: the
// service is started as its own process (on the test Postgres and Redis), fed over HTTP, trained
// through POST /train, and its served embeddings scored. It must give the offline eval's numbers
// for the same seed and training preset — the two assemble the same training data — and its
// live quality monitor must have scored every warm-up event.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runEval, STAGES } from '../../src/eval/run.js';
import { runReplay } from '../../src/replay/replay.js';
import { writeReplayReport } from '../../src/replay/report.js';
import { freshDatabase } from '../support/service.js';
import { writeSynthetic } from '../support/synthetic-dataset.js';

const tmp = mkdtempSync(join(tmpdir(), 'emerflow-replay-'));
test.after(() => rmSync(tmp, { recursive: true, force: true }));

// thresholds scaled to the synthetic dataset (20 established, 16 emerging items, k = 5)
const PROTOCOL = { hotThreshold: 60, k: 5, backboneOpts: { epochs: 20, batch: 128 } };

test('replay through the API: the eval numbers of the same seed, every stage visible, the monitor fed', { timeout: 300_000 }, async (t) => {
  const { dir } = writeSynthetic(tmp, 'shop');
  const evalRes = await runEval({
    ...PROTOCOL,
    dataset: dir,
    dataDir: tmp,
    seeds: [1],
    backbone: 'dot',
    text: 'llm',
    methods: ['emerflow'],
    warmBatch: 32,
    metaEpochs: 1,
    quiet: true,
    // the training the replayed service runs (TRAIN_PRESET below)
    emerflow: { hyper: { preset: 'quick' } },
  });
  const res = await runReplay({
    ...PROTOCOL,
    dataset: dir,
    dataDir: tmp,
    text: 'llm',
    positive: 4,
    seeds: [1],
    eventBatch: 25,
    log: () => {},
    serviceEnv: {
      DATABASE_URL: await freshDatabase(t),
      REDIS_URL: process.env['REDIS_URL'] ?? '',
      QUEUE_PREFIX: `r${crypto.randomBytes(4).toString('hex')}`,
      TRAIN_PRESET: 'quick',
      QUALITY_POLL_MS: '100',
    },
  });

  await t.test('every stage scored, and equal to the offline eval', () => {
    assert.deepEqual(
      res.results.map((r) => r.stage),
      [...STAGES],
    );
    for (const r of res.results) {
      const e = evalRes.results.find((x) => x.method === 'emerflow' && x.stage === r.stage)!; // one row per stage
      assert.ok(Number.isFinite(r.auc), `${r.stage} ${r.auc}`);
      assert.ok(Math.abs(r.auc - e.auc) < 1e-6, `${r.stage}: service ${r.auc} vs eval ${e.auc}`);
    }
    assert.deepEqual(res.counts.warm, evalRes.counts.warm);
  });

  await t.test('each warm stage became visible, with its timings', () => {
    assert.deepEqual(
      res.stages.map((s) => [s.stage, s.events]),
      STAGES.slice(1).map((s, i) => [s, res.counts.warm[i]]),
    );
    for (const s of res.stages) assert.ok(s.visibleSeconds >= 0 && s.postSeconds >= 0);
    assert.equal(res.training.length, 1);
    assert.equal(res.training[0]!.modelVersion, 1);
  });

  await t.test('the quality monitor scored every warm-up event of an emerging item', () => {
    const buckets = res.quality[0]!.buckets; // one seed
    assert.deepEqual(
      buckets.map((b) => b.bucket),
      ['cold', '1-20', '21-40', '41-60', '61+'],
    );
    const warm = res.counts.warm.reduce((a, b) => a + b, 0);
    assert.equal(
      buckets.reduce((a, b) => a + b.events, 0),
      warm,
    );
    // k = 5: priors 0..14, so the first two buckets hold every event
    assert.equal(buckets[0]!.events, res.counts.emerging);
  });

  await t.test('the report: results.json in the eval format, and the comparison', () => {
    const out = join(tmp, 'out');
    const evalFile = join(tmp, 'eval.json');
    // the eval's results.json, as npm run eval writes it, is what --compare reads
    writeFileSync(evalFile, JSON.stringify(evalRes));
    const cmp = writeReplayReport(out, res, 'npm run replay -- test', evalFile);
    assert.ok(cmp && cmp.every((c) => Math.abs(c.delta) < 1e-6));
    const json = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'));
    assert.equal(json.method, 'emerflow-service');
    assert.equal(json.results[0].method, 'emerflow-service');
    assert.match(readFileSync(join(out, 'results.md'), 'utf8'), /Against the offline eval/);
  });
});
