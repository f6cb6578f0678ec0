// Interaction ingestion against its ceiling, side by side in one run: 100,000 events
// posted over HTTP in batches of 10,000 (validation, idempotent insert, counters and
// refine tasks in one transaction) versus a raw COPY of the same rows into a bare copy
// of the table. Prints events/s and the ratio.
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

const EVENTS = 100_000;
const BATCH = 10_000;
const ITEMS = 2_000;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'emerflow-bench-'));
const pg = await startLocalPostgres(path.join(tmp, 'pg'));
const redis = await startLocalRedis(path.join(tmp, 'redis'));
try {
  const cfg = loadConfig({
    DATABASE_URL: pg.url,
    REDIS_URL: redis.url,
    LOG_LEVEL: 'silent',
    PORT: '18090',
    HOST: '127.0.0.1',
    ROLE: 'api',
    ADMIN_API_KEY: BENCH_KEY,
  });
  const svc = await startService(cfg, createLogger('silent'), { logRequests: false });
  await svc.app!.listen({ port: 18090, host: '127.0.0.1' });
  const api = (p: string, body: unknown) =>
    fetch(`http://127.0.0.1:18090${p}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...authHeader() },
      body: JSON.stringify(body),
    });
  await api('/v1/spaces', { id: 'b', dim: 8, itemType: 'x', scorer: 'dot' });
  await api('/v1/spaces/b/items', { items: Array.from({ length: ITEMS }, (_, i) => ({ id: `i${i}`, features: { t: i } })) });
  const events = (run: string) =>
    Array.from({ length: EVENTS }, (_, i) => ({
      id: `${run}-${i}`,
      userId: `u${i % 5000}`,
      itemId: `i${i % ITEMS}`,
      label: (i % 2) as 0 | 1,
      ts: new Date(1_780_000_000_000 + i * 1000).toISOString(),
    }));

  const evs = events('api');
  let t = performance.now();
  for (let i = 0; i < EVENTS; i += BATCH) {
    const r = await api('/v1/spaces/b/interactions', { events: evs.slice(i, i + BATCH) });
    if (r.status !== 202) throw new Error(await r.text());
  }
  const apiSecs = (performance.now() - t) / 1000;

  t = performance.now();
  for (let i = 0; i < EVENTS; i += BATCH) await api('/v1/spaces/b/interactions', { events: evs.slice(i, i + BATCH) });
  const dupSecs = (performance.now() - t) / 1000;

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

  console.log(`\n${EVENTS} events in batches of ${BATCH}, ${ITEMS} emerging items, ${os.cpus().length} cores\n`);
  console.log('| path | events/s | vs COPY |\n|---|---|---|');
  const row = (name: string, s: number) => console.log(`| ${name} | ${(EVENTS / s).toFixed(0)} | ${(copySecs / s).toFixed(2)} |`);
  row('raw COPY into a bare copy of the table (ceiling)', copySecs);
  row('POST /interactions (new events)', apiSecs);
  row('POST /interactions (all duplicates)', dupSecs);
} finally {
  await redis.stop();
  await pg.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
}
