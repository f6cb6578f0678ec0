// The live quality monitor against an offline computation of the same thing: before each
// round of events the test reads every emerging item's served embedding through the API,
// scores its events itself (sigmoid(u·v), the cold embedding as the reference) and, once the
// monitor has scored them, its buckets must agree with the offline AUC and log loss.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestService, waitFor } from '../support/service.js';
import { makeWorld } from '../support/fixtures.js';
import { embeddingOf, post, seedSpace } from '../support/space.js';
import { auc } from '../../src/eval/metrics.js';
import { bucketOf, QUALITY_BUCKETS } from '../../src/db/quality.js';

const ROUNDS = 4;
const PER_ROUND = 16; // priors 0..63: every bucket, 61+ included
const EMERGING = 20;

interface Pair {
  bucket: number;
  label: 0 | 1;
  score: number;
  cold: number;
}

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));
// vectors are stored as float32: score with what the service holds
const f32 = (v: number[]) => Array.from(Float32Array.from(v));
const dot = (a: number[], b: number[]) => a.reduce((s, x, i) => s + x * (b[i] ?? 0), 0);
const logLoss = (ps: Pair[], pick: (p: Pair) => number) =>
  ps.reduce((s, p) => s - Math.log(p.label === 1 ? pick(p) : 1 - pick(p)), 0) / ps.length;

test('quality monitor: prequential buckets agree with an offline scoring of the same events', async (t) => {
  const svc = await startTestService(t, { QUALITY_POLL_MS: '50' });
  const app = svc.app!;
  const world = makeWorld({ dim: 8, users: 70, items: 30 + EMERGING, seed: 3 });
  await seedSpace(app, { space: 'q', world, established: 30 });
  const emerging = world.items.slice(30);
  const res = await post(app, '/v1/spaces/q/items', { items: emerging.map((i) => ({ id: i.id, features: i.features })) });
  assert.equal(res.statusCode, 202);
  const coldOf = new Map<string, number[]>();
  for (const it of emerging) {
    const e = await waitFor(() => embeddingOf(app, 'q', it.id), `a cold embedding of ${it.id}`);
    assert.equal(e.kind, 'cold');
    coldOf.set(it.id, e.vector);
  }
  const users = world.users.map((u) => f32(u.vector));

  const expected: Pair[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const events = [];
    for (const [j, it] of emerging.entries()) {
      const served = (await embeddingOf(app, 'q', it.id))!.vector;
      for (let k = 0; k < PER_ROUND; k++) {
        const u = (j * 7 + round * PER_ROUND + k) % users.length;
        const label = world.label(u, 30 + j);
        const prior = round * PER_ROUND + k;
        events.push({
          id: `q-${it.id}-${prior}`,
          userId: world.users[u]!.id,
          itemId: it.id,
          label,
          ts: new Date(Date.UTC(2026, 1, 1, round, j, k)).toISOString(),
        });
        const uv = users[u]!;
        expected.push({ bucket: bucketOf(prior), label, score: sigmoid(dot(uv, served)), cold: sigmoid(dot(uv, coldOf.get(it.id)!)) });
      }
    }
    // Not scored: an established item's event and the event of a user the recommender has no vector for
    // (last round only, and last in it by time: it counts among the item's interactions).
    if (round === ROUNDS - 1) {
      events.push({ id: 'q-est', userId: 'u1', itemId: world.items[0]!.id, label: 1 });
      events.push({ id: 'q-nouser', userId: 'nobody', itemId: emerging[0]!.id, label: 0 });
    }
    assert.equal((await post(app, '/v1/spaces/q/interactions', { events })).statusCode, 202);
    // the next round is scored with what refinement made of this one
    for (const it of emerging)
      await waitFor(async () => {
        const e = await embeddingOf(app, 'q', it.id);
        return e && e.kind === 'refined' && e.interactions === (round + 1) * PER_ROUND;
      }, `${it.id} refined on round ${round}`);
  }

  const q = await waitFor(
    async () => {
      const r = (await app.inject({ method: 'GET', url: '/v1/spaces/q/quality' })).json();
      const n = r.buckets.reduce((s: number, b: { events: number }) => s + b.events, 0);
      return r.pending === 0 && n === expected.length ? r : null;
    },
    'the monitor to score every event',
    60_000,
  );
  assert.deepEqual(
    q.buckets.map((b: { bucket: string }) => b.bucket),
    [...QUALITY_BUCKETS],
  );
  for (const [i, b] of (q.buckets as { bucket: string; events: number; auc: number; logLoss: number; coldAuc: number }[]).entries()) {
    const ps = expected.filter((p) => p.bucket === i);
    assert.equal(b.events, ps.length, `${b.bucket}: events`);
    const labels = ps.map((p) => p.label);
    const near = (got: number, want: number, what: string) =>
      assert.ok(Math.abs(got - want) < 1e-9, `${b.bucket}: ${what} ${got} vs ${want}`);
    const [served, cold] = [ps.map((p) => p.score), ps.map((p) => p.cold)];
    near(b.auc, auc(labels, served), 'auc');
    near(b.coldAuc, auc(labels, cold), 'cold auc');
    near(
      b.logLoss,
      logLoss(ps, (p) => p.score),
      'log loss',
    );
  }
  // before any interaction, the served embedding is the cold one
  assert.equal(q.buckets[0].auc, q.buckets[0].coldAuc);

  await t.test('the unscorable events are counted, not scored', async () => {
    const m = (await app.inject({ method: 'GET', url: '/metrics' })).body;
    assert.match(m, new RegExp(`emerflow_quality_events_scored_total\\{outcome="unscorable"\\} 1\\b`));
    assert.match(m, /emerflow_quality_auc\{space="q",version="1",bucket="21-40"\} 0\.\d+/);
    assert.match(m, new RegExp(`emerflow_quality_events\\{space="q",version="1",bucket="cold"\\} ${EMERGING}\\b`));
  });

  await t.test('a window that starts later holds nothing; a bad window or version is refused', async () => {
    const later = new Date(Date.now() + 60_000).toISOString();
    const r = (await app.inject({ method: 'GET', url: `/v1/spaces/q/quality?since=${encodeURIComponent(later)}` })).json();
    assert.deepEqual(
      r.buckets.map((b: { events: number; auc: unknown }) => [b.events, b.auc]),
      QUALITY_BUCKETS.map(() => [0, null]),
    );
    assert.equal((await app.inject({ method: 'GET', url: '/v1/spaces/q/quality?since=yesterday' })).statusCode, 400);
    assert.equal((await app.inject({ method: 'GET', url: '/v1/spaces/q/quality?version=9' })).statusCode, 404);
    assert.equal((await app.inject({ method: 'GET', url: '/v1/spaces/nope/quality' })).statusCode, 404);
  });
});
