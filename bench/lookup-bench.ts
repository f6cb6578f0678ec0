// The lookup hot path against its ceiling, side by side in one run: a bare Fastify
// route answering the same bytes (precomputed) is the best this stack can do; the
// real route is measured with its cache warm, with the cache off (one batched query
// per request), and in its packed float32 form. Prints requests/s and ratios.
// Run: npm run bench:lookup   (starts its own Postgres and Redis)
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import autocannon from 'autocannon';
import Fastify from 'fastify';
import { authHeader, BENCH_KEY } from './support/key.js';
import { loadConfig } from '../src/config.js';
import { createLogger } from '../src/logger.js';
import { startService } from '../src/service.js';
import { startLocalPostgres } from '../src/dev/postgres.js';
import { startLocalRedis } from '../src/dev/redis.js';

const DIM = 64;
const ITEMS = 20_000;
const IDS_PER_REQUEST = 200;
const SECONDS = Number(process.env['BENCH_SECONDS'] ?? 5);
const CONNECTIONS = 16;

function rnd(seed: number) {
  let s = seed;
  return () => (s = (s * 1103515245 + 12345) % 2147483648) / 2147483648 - 0.5;
}

async function load(url: string, body: string, headers: Record<string, string> = {}): Promise<{ rps: number; p99: number }> {
  const r = await autocannon({
    url,
    method: 'POST',
    body,
    headers: { 'content-type': 'application/json', ...authHeader(), ...headers },
    connections: CONNECTIONS,
    duration: SECONDS,
    pipelining: 1,
  });
  if (r.non2xx || r.errors) throw new Error(`${url}: ${r.non2xx} non-2xx, ${r.errors} errors`);
  return { rps: r.requests.average, p99: r.latency.p99 };
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'emerflow-bench-'));
fs.chmodSync(tmp, 0o755);
const pg = await startLocalPostgres(path.join(tmp, 'pg'));
const redis = await startLocalRedis(path.join(tmp, 'redis'));
const results: { name: string; rps: number; p99: number }[] = [];
let memoryLine = '';
try {
  const gen = rnd(7);
  const items = Array.from({ length: ITEMS }, (_, i) => ({
    id: `item-${i}`,
    features: { title: `t${i}` },
    embedding: Array.from({ length: DIM }, gen),
  }));
  const ids = Array.from({ length: IDS_PER_REQUEST }, (_, i) => `item-${(i * 97) % ITEMS}`);
  const body = JSON.stringify({ ids });

  const run = async (cacheItems: number, port: number) => {
    const cfg = loadConfig({
      DATABASE_URL: pg.url,
      REDIS_URL: redis.url,
      LOG_LEVEL: 'silent',
      PORT: String(port),
      HOST: '127.0.0.1',
      ROLE: 'api',
      ADMIN_API_KEY: BENCH_KEY,
      LOOKUP_CACHE_ITEMS: String(cacheItems),
    });
    const svc = await startService(cfg, createLogger('silent'), { logRequests: false });
    await svc.app!.listen({ port, host: '127.0.0.1' });
    return svc;
  };

  // Data in, through the API.
  const setup = await run(1_000_000, 18_081);
  await setup.app!.inject({
    method: 'POST',
    headers: authHeader(),
    url: '/v1/spaces',
    payload: { id: 'bench', dim: DIM, itemType: 'x', scorer: 'dot' },
  });
  for (let i = 0; i < ITEMS; i += 5000) {
    const r = await setup.app!.inject({
      method: 'POST',
      headers: authHeader(),
      url: '/v1/spaces/bench/items',
      payload: { items: items.slice(i, i + 5000) },
    });
    if (r.statusCode !== 202) throw new Error(r.body);
  }
  const answer = (
    await setup.app!.inject({ method: 'POST', headers: authHeader(), url: '/v1/spaces/bench/embeddings/lookup', payload: { ids } })
  ).body;

  // Ceiling: a bare Fastify route sending the same JSON bytes, precomputed.
  const bare = Fastify();
  bare.post('/lookup', async (_req, reply) => reply.header('content-type', 'application/json').send(answer));
  await bare.listen({ port: 18_080, host: '127.0.0.1' });
  results.push({ name: 'bare Fastify, same bytes (ceiling)', ...(await load('http://127.0.0.1:18080/lookup', body)) });
  await bare.close();

  results.push({ name: 'lookup, cache warm (JSON)', ...(await load('http://127.0.0.1:18081/v1/spaces/bench/embeddings/lookup', body)) });
  results.push({
    name: 'lookup, cache warm (float32)',
    ...(await load('http://127.0.0.1:18081/v1/spaces/bench/embeddings/lookup', body, { accept: 'application/octet-stream' })),
  });
  // Fill the cache with every item, then report what this process holds (Node + TF.js + cache).
  for (let i = 0; i < ITEMS; i += 1000)
    await setup.app!.inject({
      method: 'POST',
      headers: authHeader(),
      url: '/v1/spaces/bench/embeddings/lookup',
      payload: { ids: items.slice(i, i + 1000).map((x) => x.id) },
    });
  global.gc?.();
  const mem = process.memoryUsage();
  memoryLine = `memory with all ${ITEMS} embeddings cached (dim ${DIM}): rss ${(mem.rss / 2 ** 20).toFixed(0)} MiB, heap used ${(mem.heapUsed / 2 ** 20).toFixed(0)} MiB, cache entries ${setup.app!.deps.cache.size}`;
  await setup.close();
  const nocache = await run(0, 18_082);
  results.push({
    name: 'lookup, no cache (1 query/request)',
    ...(await load('http://127.0.0.1:18082/v1/spaces/bench/embeddings/lookup', body)),
  });
  await nocache.close();
} finally {
  await redis.stop();
  await pg.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
}
const ceiling = results[0]!.rps;
console.log(
  `\nlookup of ${IDS_PER_REQUEST} ids (dim ${DIM}) from ${ITEMS} items, ${CONNECTIONS} connections, ${SECONDS} s each, ${os.cpus().length} cores\n`,
);
console.log(`${memoryLine}\n`);
console.log('| path | req/s | ids/s | p99 ms | vs ceiling |\n|---|---|---|---|---|');
for (const r of results)
  console.log(`| ${r.name} | ${r.rps.toFixed(0)} | ${(r.rps * IDS_PER_REQUEST).toFixed(0)} | ${r.p99} | ${(r.rps / ceiling).toFixed(2)} |`);
