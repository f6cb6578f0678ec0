// The load generator: its own process (forked by bench/support/loadgen-client.ts), so
// building and sending requests never competes with the bench's measurements on one
// event loop. Sends paced streams (events in batches, lookups, a trickle of new items)
// for a bounded time, reports progress and final figures over IPC, then exits. It also
// exits when the bench goes away (IPC disconnect) or overruns by a margin.
import { authHeader } from './key.js';
import type { FromChild, LoadConfig, LoadStats, StreamStats, ToChild } from './loadgen-protocol.js';
import { World, rng, mix } from './world.js';
import { summarise } from './stats.js';

const send = (m: FromChild) => {
  if (process.connected) process.send!(m);
};
let stopped = false;
// Distinct error messages (the first 10) and how often each came.
const errorSamples = new Map<string, number>();
const noteError = (msg: string) => {
  if (errorSamples.has(msg) || errorSamples.size < 10) errorSamples.set(msg, (errorSamples.get(msg) ?? 0) + 1);
};

function newStats(): StreamStats {
  return { requests: 0, ok: 0, throttled: 0, errors: 0, dropped: 0, units: 0, accepted: 0, duplicates: 0, missing: 0 };
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

async function post(cfg: LoadConfig, path: string, body: string, st: StreamStats, lat: number[], route: string): Promise<unknown | null> {
  st.requests++;
  const t = performance.now();
  try {
    const res = await fetch(cfg.url + path, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...authHeader() },
      body,
      signal: AbortSignal.timeout(30_000),
    });
    const text = await res.text();
    lat.push(performance.now() - t);
    if (res.status >= 200 && res.status < 300) {
      st.ok++;
      return text ? JSON.parse(text) : {};
    }
    if (res.status === 429 || res.status === 503) st.throttled++;
    else {
      st.errors++;
      noteError(`${route} → ${res.status}: ${text.slice(0, 300)}`);
    }
  } catch (err) {
    st.errors++;
    const e = err as Error & { cause?: Error };
    noteError(`${route} → ${e.name}: ${e.message}${e.cause ? ` (${e.cause.message})` : ''}`);
  }
  return null;
}

/**
 * Calls `fire` `perSecond` times a second until `until`, with at most `maxInflight`
 * outstanding. When the service falls behind, the schedule catches up by at most one
 * second; what it cannot send is counted as dropped, never sent in a burst.
 */
async function paced(perSecond: number, until: number, maxInflight: number, st: StreamStats, fire: () => Promise<void>): Promise<void> {
  const interval = 1000 / perSecond;
  let next = performance.now();
  const inflight = new Set<Promise<void>>();
  while (!stopped) {
    const now = performance.now();
    if (now >= until) break;
    if (next > now) {
      await sleep(Math.min(next - now, until - now));
      continue;
    }
    if (inflight.size >= maxInflight) {
      await Promise.race([...inflight, sleep(50)]);
      continue;
    }
    if (now - next > 1000) {
      const skip = Math.floor((now - next - 1000) / interval);
      st.dropped += skip;
      next += skip * interval;
    }
    const p: Promise<void> = fire().finally(() => inflight.delete(p));
    inflight.add(p);
    next += interval;
  }
  await Promise.race([Promise.all(inflight), sleep(35_000)]);
}

function lat(st: StreamStats, xs: number[]): StreamStats {
  if (!xs.length) return st;
  const s = summarise(xs);
  return { ...st, latency: { p50: s.p50, p95: s.p95, p99: s.p99, max: s.max } };
}

async function run(cfg: LoadConfig, go: Promise<void>): Promise<void> {
  const world = new World(cfg.world.seed, cfg.world.dim, cfg.world.users);
  const r = rng(mix(cfg.world.seed, 0x6c67, Date.now() & 0xffffffff));
  const ev = cfg.events ? newStats() : undefined;
  const lk = cfg.lookups ? newStats() : undefined;
  const ni = cfg.newItems ? { ...newStats(), lastIndex: cfg.newItems.from - 1 } : undefined;
  const evLat: number[] = [];
  const lkLat: number[] = [];
  const niLat: number[] = [];
  // Precomputed before the clock starts.
  const evItems = cfg.events ? Array.from({ length: cfg.events.count }, (_, k) => world.item(cfg.events!.kind, cfg.events!.from + k)) : [];
  for (let u = 0; u < cfg.world.users; u++) world.userVector(u);
  const lkIds = cfg.lookups
    ? Array.from({ length: cfg.lookups.count }, (_, k) => world.itemId(cfg.lookups!.kind, cfg.lookups!.from + k))
    : [];
  const space = encodeURIComponent(cfg.space);
  send({ type: 'ready' });
  await go;
  const t0 = performance.now();
  const until = t0 + cfg.seconds * 1000;
  const snapshot = (): LoadStats => ({
    elapsedS: (performance.now() - t0) / 1000,
    ...(ev ? { events: lat(ev, evLat) } : {}),
    ...(lk ? { lookups: lat(lk, lkLat) } : {}),
    ...(ni ? { newItems: { ...lat(ni, niLat), lastIndex: ni.lastIndex } } : {}),
    errorSamples: [...errorSamples].map(([m, n]) => (n > 1 ? `${m} (×${n})` : m)),
  });
  send({ type: 'started' });
  const progress = setInterval(() => send({ type: 'progress', stats: snapshot() }), cfg.progressEveryMs);
  const streams: Promise<void>[] = [];
  if (cfg.events && ev) {
    const e = cfg.events;
    let seq = 0;
    streams.push(
      paced(e.rate / e.batch, until, e.maxInflight, ev, async () => {
        const ts = new Date().toISOString();
        const events = Array.from({ length: e.batch }, () => {
          const it = evItems[Math.floor(r() * evItems.length)]!;
          const u = Math.floor(r() * world.users);
          return { id: `${e.idPrefix}-${seq++}`, userId: world.userId(u), itemId: it.id, label: world.label(u, it.vector, r), ts };
        });
        ev.units += events.length;
        const a = (await post(cfg, `/v1/spaces/${space}/interactions`, JSON.stringify({ events }), ev, evLat, 'POST interactions')) as {
          accepted?: number;
          duplicates?: number;
        } | null;
        if (a) {
          ev.accepted += a.accepted ?? 0;
          ev.duplicates += a.duplicates ?? 0;
        }
      }),
    );
  }
  if (cfg.lookups && lk) {
    const l = cfg.lookups;
    streams.push(
      paced(l.rate, until, l.maxInflight, lk, async () => {
        const ids = Array.from({ length: l.ids }, () => lkIds[Math.floor(r() * lkIds.length)]!);
        lk.units += ids.length;
        const a = (await post(cfg, `/v1/spaces/${space}/embeddings/lookup`, JSON.stringify({ ids }), lk, lkLat, 'POST lookup')) as {
          embeddings?: unknown[];
          missing?: unknown[];
        } | null;
        if (a) {
          lk.accepted += a.embeddings?.length ?? 0;
          lk.missing += a.missing?.length ?? 0;
        }
      }),
    );
  }
  if (cfg.newItems && ni) {
    const n = cfg.newItems;
    let k = n.from;
    streams.push(
      paced(1000 / n.everyMs, until, 2, ni, async () => {
        const it = world.item(n.kind, k++);
        ni.units++;
        const a = await post(
          cfg,
          `/v1/spaces/${space}/items`,
          JSON.stringify({ items: [{ id: it.id, features: it.features }] }),
          ni,
          niLat,
          'POST items',
        );
        if (a) {
          ni.accepted++;
          ni.lastIndex = Math.max(ni.lastIndex, it.index);
        }
      }),
    );
  }
  await Promise.all(streams);
  clearInterval(progress);
  send({ type: 'done', stats: snapshot() });
}

let started = false;
let goResolve: () => void = () => {};
const go = new Promise<void>((r) => {
  goResolve = r;
});
process.on('message', (m: ToChild) => {
  if (m.type === 'start' && !started) {
    started = true;
    // Hard bound: the bench's own seconds plus a margin for in-flight requests.
    setTimeout(
      () => {
        send({ type: 'error', message: 'load generator overran its time bound' });
        process.exit(2);
      },
      (m.config.seconds + 120) * 1000,
    ).unref();
    run(m.config, go).then(
      () => setTimeout(() => process.exit(0), 100),
      (err) => {
        send({ type: 'error', message: (err as Error).stack ?? String(err) });
        setTimeout(() => process.exit(1), 100);
      },
    );
  } else if (m.type === 'go') goResolve();
  else if (m.type === 'stop') {
    stopped = true;
    goResolve();
  }
});
process.on('disconnect', () => process.exit(0));
