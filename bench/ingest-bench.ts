// Interaction ingestion against its ceiling, side by side in one run: 100,000 events
// posted over HTTP in batches of 10,000 (validation, idempotent insert, counters and
// refine tasks in one transaction) versus a raw COPY of the same rows into a bare copy
// of the table. Prints events/s and the ratio. Then the live quality monitor's cost: the same
// posting with QUALITY_MONITOR off and on (off, on, 10 % sample, 10 % sample, on, off, so that the table's growth
// weighs on both alike), every item with a served cold embedding so each event is kept for
// scoring, and how fast the scorer then scores what was kept.
// Run: npm run bench:ingest   (starts its own Postgres and Redis)
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { from as copyFrom } from 'pg-copy-streams';
import { authHeader, BENCH_KEY } from './support/key.js';
import { loadConfig } from '../src/config.js';
import { createLogger } from '../src/logger.js';
import { startService } from '../src/service.js';
import { startLocalPostgres } from '../src/dev/postgres.js';
import { startLocalRedis } from '../src/dev/redis.js';
import { QualityScorer } from '../src/jobs/quality-scorer.js';
import { toBytes } from '../src/db/vectors.js';

const EVENTS = 100_000;
const BATCH = 10_000;
const ITEMS = 2_000;
const DIM = 32;
/** A deterministic vector per index (the bench needs values, not a distribution). */
const vec = (i: number) => Array.from({ length: DIM }, (_, d) => Math.sin(i * 31 + d) * 0.3);
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'emerflow-bench-'));
const pg = await startLocalPostgres(path.join(tmp, 'pg'));
const redis = await startLocalRedis(path.join(tmp, 'redis'));
try {
  const start = async (quality: boolean, samplePercent = 100) => {
    const cfg = loadConfig({
      DATABASE_URL: pg.url,
      REDIS_URL: redis.url,
      LOG_LEVEL: 'silent',
      PORT: '18090',
      HOST: '127.0.0.1',
      ROLE: 'api',
      ADMIN_API_KEY: BENCH_KEY,
      QUALITY_MONITOR: String(quality),
      QUALITY_SAMPLE_PERCENT: String(samplePercent),
    });
    const svc = await startService(cfg, createLogger('silent'), { logRequests: false });
    await svc.app!.listen({ port: 18090, host: '127.0.0.1' });
    return svc;
  };
  let svc = await start(true);
  const api = (p: string, body: unknown) =>
    fetch(`http://127.0.0.1:18090${p}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...authHeader() },
      body: JSON.stringify(body),
    });
  await api('/v1/spaces', { id: 'b', dim: DIM, itemType: 'x', scorer: 'dot' });
  await api('/v1/spaces/b/users', { users: Array.from({ length: 5000 }, (_, i) => ({ id: `u${i}`, vector: vec(i) })) });
  await api('/v1/spaces/b/items', { items: Array.from({ length: ITEMS }, (_, i) => ({ id: `i${i}`, features: { t: i } })) });
  // Served cold embeddings, written as the embed job would leave them (no model is trained here).
  await svc.db.query(
    `WITH v AS (SELECT * FROM unnest($1::text[], $2::bytea[]) AS v(id, vector)),
     e AS (INSERT INTO embeddings (space_id, item_id, version, kind, vector) SELECT 'b', id, 1, 'cold', vector FROM v)
     UPDATE items i SET state = 'cold', embedding_version = 1, cold_vector = v.vector FROM v WHERE i.space_id = 'b' AND i.id = v.id`,
    [Array.from({ length: ITEMS }, (_, i) => `i${i}`), Array.from({ length: ITEMS }, (_, i) => toBytes(vec(i + 7)))],
  );
  const events = (run: string) =>
    Array.from({ length: EVENTS }, (_, i) => ({
      id: `${run}-${i}`,
      userId: `u${i % 5000}`,
      itemId: `i${i % ITEMS}`,
      label: (i % 2) as 0 | 1,
      ts: new Date(1_780_000_000_000 + i * 1000).toISOString(),
    }));
  const postAll = async (evs: ReturnType<typeof events>) => {
    const t0 = performance.now();
    for (let i = 0; i < EVENTS; i += BATCH) {
      const r = await api('/v1/spaces/b/interactions', { events: evs.slice(i, i + BATCH) });
      if (r.status !== 202) throw new Error(await r.text());
    }
    return (performance.now() - t0) / 1000;
  };

  const evs = events('api');
  const apiSecs = await postAll(evs);
  let t = performance.now();
  for (let i = 0; i < EVENTS; i += BATCH) await api('/v1/spaces/b/interactions', { events: evs.slice(i, i + BATCH) });
  const dupSecs = (performance.now() - t) / 1000;

  // The monitor off and on, alternately, in fresh processes.
  const monitor: Record<'off' | 'on' | 's10', number[]> = { off: [], on: [], s10: [] };
  for (const [k, mode] of (['off', 'on', 's10', 's10', 'on', 'off'] as const).entries()) {
    await svc.close();
    svc = await start(mode !== 'off', mode === 's10' ? 10 : 100);
    monitor[mode].push(await postAll(events(`m${k}`)));
  }
  const kept = Number((await svc.db.query<{ n: string }>('SELECT count(*) AS n FROM quality_pending')).rows[0]?.n ?? 0);
  const scorer = new QualityScorer(svc.db, createLogger('silent'), { pollMs: 1000, batch: 5000, retentionDays: 7 });
  t = performance.now();
  let scored = 0;
  for (let n = 1; n > 0; scored += n) n = await scorer.scoreBatch();
  const scoreSecs = (performance.now() - t) / 1000;

  const client = await svc.db.connect();
  await client.query('CREATE TABLE interactions_copy (LIKE interactions INCLUDING ALL)');
  const rows = events('copy').map((e) => `b\t${e.id}\t${e.userId}\t${e.itemId}\t${e.label}\t${e.ts}\n`);
  t = performance.now();
  for (let i = 0; i < EVENTS; i += BATCH) {
    await pipeline(
      Readable.from(rows.slice(i, i + BATCH)),
      client.query(copyFrom('COPY interactions_copy (space_id, event_id, user_id, item_id, label, ts) FROM STDIN')),
    );
  }
  const copySecs = (performance.now() - t) / 1000;
  client.release();
  await svc.close();
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

  console.log(`\n${EVENTS} events in batches of ${BATCH}, ${ITEMS} emerging items, ${os.cpus().length} cores\n`);
  console.log('| path | events/s | vs COPY |\n|---|---|---|');
  const row = (name: string, s: number) => console.log(`| ${name} | ${(EVENTS / s).toFixed(0)} | ${(copySecs / s).toFixed(2)} |`);
  row('raw COPY into a bare copy of the table (ceiling)', copySecs);
  row('POST /interactions (new events)', apiSecs);
  row('POST /interactions (all duplicates)', dupSecs);
  row('POST /interactions, quality monitor off (2 runs)', mean(monitor.off));
  row('POST /interactions, quality monitor on, every event (2 runs)', mean(monitor.on));
  row('POST /interactions, quality monitor on, QUALITY_SAMPLE_PERCENT=10 (2 runs)', mean(monitor.s10));
  const vsOff = (xs: number[]) => (mean(monitor.off) / mean(xs)).toFixed(3);
  console.log(`\nquality monitor, events/s vs off: every event ${vsOff(monitor.on)}×, a 10 % sample ${vsOff(monitor.s10)}×`);
  const rate = (scored / scoreSecs).toFixed(0);
  console.log(`scorer: ${scored} events kept for scoring (${kept} waiting), scored in ${scoreSecs.toFixed(1)} s (${rate}/s)`);
} finally {
  await redis.stop();
  await pg.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
}
