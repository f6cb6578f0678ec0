// A seeded fuzz run: 10,000 requests, each a mutation of a valid request to one of the
// v1 routes (its body, path parameters, query or headers). Whatever comes in, the answer
// is a 2xx or a 4xx naming what is wrong (never a 5xx), every request gets an answer,
// the heap comes back to where it was, and a refused request leaves nothing behind.
// The service runs as an API process only: accepted work waits in the outbox.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import v8 from 'node:v8';
import vm from 'node:vm';
import { ROUTE_SCOPES } from '../../src/api/auth.js';
import { makeRng, type Rng } from '../../src/model/prng.js';
import { startTestService } from '../support/service.js';
import { seedSpace } from '../support/space.js';

const REQUESTS = 10_000;
const SEED = 20261201;

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;
const heapAfterGc = () => {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
};

type Method = 'GET' | 'POST' | 'PUT' | 'DELETE';
interface Req {
  method: Method;
  url: string;
  headers: Record<string, string>;
  payload?: string;
}

/** A valid request for each route; `m` is the request's marker, carried by every id it makes. */
function validRequest(route: string, m: string, rng: Rng): { params: Record<string, string>; body?: unknown; query?: string } {
  const vec = () => Array.from({ length: 8 }, () => Number((rng.next() * 2 - 1).toFixed(3)));
  const item = rng.next() < 0.5 ? 'i0' : `${m}-item`;
  switch (route) {
    case 'POST /v1/spaces':
      return { params: {}, body: { id: `${m}-space`, dim: 8, itemType: 'movie', scorer: 'dot' } };
    case 'PUT /v1/spaces/:space/aux-features':
      return { params: { space: 'movies' }, body: { features: [{ name: `${m}-aux`, description: 'the mood of the film' }] } };
    case 'POST /v1/spaces/:space/users':
      return { params: { space: 'movies' }, body: { users: [{ id: `${m}-user`, vector: vec() }] } };
    case 'POST /v1/spaces/:space/items':
      return {
        params: { space: 'movies' },
        body: {
          items: [
            {
              id: `${m}-item`,
              features: { title: `Film ${m}`, genres: ['drama'], year: 1999 },
              ...(rng.next() < 0.5 ? { embedding: vec() } : {}),
            },
          ],
        },
      };
    case 'POST /v1/spaces/:space/interactions':
      return {
        params: { space: 'movies' },
        body: {
          events: [{ id: `${m}-event`, userId: 'u0', itemId: item, label: rng.next() < 0.5 ? 1 : 0, ts: new Date(1.7e12).toISOString() }],
        },
      };
    case 'POST /v1/spaces/:space/embeddings/lookup':
      return { params: { space: 'movies' }, body: { ids: ['i0', 'i1', `${m}-item`] }, query: rng.next() < 0.5 ? 'format=float32' : '' };
    case 'POST /v1/spaces/:space/train':
      return { params: { space: 'movies' }, body: { seed: 7 } };
    case 'POST /v1/keys':
      return { params: {}, body: { name: `${m}-key`, scopes: ['read'], spaces: ['movies'] } };
    case 'POST /v1/spaces/:space/webhook-secrets':
      return { params: { space: 'movies' }, body: {} };
    case 'POST /v1/spaces/:space/webhooks':
      // a public address (documentation range): nothing to resolve, and an API process sends nothing
      return {
        params: { space: 'movies' },
        body: { url: `https://203.0.113.7/hooks/${m}`, events: ['embedding.updated', 'model.activated'] },
      };
    case 'POST /v1/spaces/:space/versions':
      return { params: { space: 'movies' }, body: rng.next() < 0.5 ? {} : { dim: 8 } };
    case 'POST /v1/spaces/:space/versions/:v/promote':
      return { params: { space: 'movies', v: rng.next() < 0.5 ? '1' : '2' }, body: {} };
    case 'DELETE /v1/spaces/:space/versions/:v':
      return { params: { space: 'movies', v: rng.next() < 0.5 ? '2' : '3' } };
    case 'POST /v1/spaces/:space/models/:modelVersion/activate':
      return { params: { space: 'movies', modelVersion: '1' }, body: {} };
    default:
      return { params: { space: 'movies', id: rng.next() < 0.5 ? 'i1' : `${m}-item` } };
  }
}

const NASTY_STRINGS = [
  '',
  '\u0000',
  'a\u0000b',
  '\u0007\u001b[2J',
  '\ud800',
  'x'.repeat(300),
  '../../etc/passwd',
  '%00',
  '%ZZ',
  'é✓🎬',
  ' ',
  '__proto__',
  'constructor',
];
const NASTY_VALUES: unknown[] = [
  null,
  true,
  0,
  -1,
  1e39,
  -1e39,
  2 ** 31,
  2 ** 53 + 1,
  1.5,
  '1',
  [],
  {},
  [[[]]],
  { __proto__: { polluted: 1 } },
];

function nasty(rng: Rng): unknown {
  const r = rng.next();
  if (r < 0.45) return NASTY_STRINGS[Math.floor(rng.next() * NASTY_STRINGS.length)];
  if (r < 0.9) return NASTY_VALUES[Math.floor(rng.next() * NASTY_VALUES.length)];
  let deep: unknown = 1; // deep nesting
  for (let i = 0; i < 2000; i++) deep = [deep];
  return deep;
}

/** Replaces, deletes or multiplies one value somewhere inside `v`. */
function mutateValue(v: unknown, rng: Rng): unknown {
  if (Array.isArray(v)) {
    if (v.length === 0 || rng.next() < 0.2)
      return rng.next() < 0.5 ? nasty(rng) : Array.from({ length: rng.next() < 0.9 ? 1_001 : 5_001 }, () => v[0] ?? 1);
    const i = Math.floor(rng.next() * v.length);
    return v.map((x, j) => (j === i ? mutateValue(x, rng) : x));
  }
  if (v && typeof v === 'object') {
    const keys = Object.keys(v);
    const r = rng.next();
    if (keys.length === 0 || r < 0.15) return { ...v, [String(nasty(rng))]: nasty(rng) };
    const k = keys[Math.floor(rng.next() * keys.length)]!;
    if (r < 0.35) {
      const copy = { ...(v as Record<string, unknown>) };
      delete copy[k];
      return copy;
    }
    return { ...(v as Record<string, unknown>), [k]: mutateValue((v as Record<string, unknown>)[k], rng) };
  }
  return nasty(rng);
}

/** Percent-encodes, but lets the raw escapes %00 and %ZZ through, and sends a lone surrogate as its (invalid) UTF-8 bytes. */
function encodePathPart(v: string): string {
  let out: string;
  try {
    out = encodeURIComponent(v);
  } catch {
    out = '%ED%A0%80';
  }
  return out.replace(/%25(00|ZZ)/g, '%$1');
}

function mutate(route: string, m: string, rng: Rng): Req {
  const [method, pattern] = route.split(' ') as [Method, string];
  const valid = validRequest(route, m, rng);
  const params = { ...valid.params };
  let body: unknown = valid.body;
  let query = valid.query ?? '';
  const headers: Record<string, string> = {};
  let raw: string | undefined;
  const r = rng.next();
  if (r < 0.5 && body !== undefined) body = mutateValue(body, rng);
  else if (r < 0.65) {
    const names = Object.keys(params);
    if (names.length) params[names[Math.floor(rng.next() * names.length)]!] = String(nasty(rng));
    else body = mutateValue(body ?? {}, rng);
  } else if (r < 0.72)
    query = ['format=xml', 'version=-1', 'format=float32&format=json', `x=${'%00'.repeat(5)}`, 'a[b]=c'][Math.floor(rng.next() * 5)]!;
  else if (r < 0.8) {
    const json = JSON.stringify(body ?? {});
    raw = [json.slice(0, Math.floor(rng.next() * json.length)), `${json}}`, json.replace(/"/, "'"), '\u0000', 'null', '[]', '"x"'][
      Math.floor(rng.next() * 7)
    ];
  } else if (r < 0.88)
    headers['content-type'] = [
      'text/plain',
      'application/x-www-form-urlencoded',
      'application/json; charset=latin1',
      'multipart/form-data',
    ][Math.floor(rng.next() * 4)]!;
  else if (r < 0.94)
    headers['x-emerflow-signature'] = ['t=1,v1=00', 'garbage', `t=${Date.now()},v1=${'a'.repeat(64)}`][Math.floor(rng.next() * 3)]!;
  else headers['x-request-id'] = String(nasty(rng)).replace(/[^\x20-\x7e]/g, '?');
  const path = pattern.replace(/:(\w+)/g, (_, name: string) => encodePathPart(params[name] ?? ''));
  const payload = method === 'GET' || method === 'DELETE' ? undefined : (raw ?? (body === undefined ? undefined : JSON.stringify(body)));
  if (payload !== undefined && !headers['content-type']) headers['content-type'] = 'application/json';
  return { method, url: `${path}${query ? `?${query}` : ''}`, headers, ...(payload !== undefined ? { payload } : {}) };
}

test(`fuzz: ${REQUESTS.toLocaleString('en')} mutated requests across every route`, { timeout: 600_000 }, async (t) => {
  const svc = await startTestService(t, { ROLE: 'api' });
  const app = svc.app!;
  await seedSpace(app, { train: false });
  const routes = Object.entries(ROUTE_SCOPES)
    .filter(([, scope]) => scope !== 'open')
    .map(([r]) => r)
    .filter((r) => r.startsWith('GET /v1') || r.startsWith('POST /v1') || r.startsWith('PUT /v1') || r.startsWith('DELETE /v1'));
  const rng = makeRng(SEED);
  const statuses = new Map<number, number>();
  const serverErrors: string[] = [];
  const refused = new Set<string>();
  let heapStart = 0;
  for (let n = 0; n < REQUESTS; n++) {
    if (n === 500) heapStart = heapAfterGc(); // after warm-up: JIT, schema compilation, pools
    const route = routes[n % routes.length]!;
    const m = `fz${n}x`;
    const req = mutate(route, m, rng);
    let bound: NodeJS.Timeout | undefined;
    const res = await Promise.race([
      app.inject(req),
      new Promise<never>((_, reject) => {
        bound = setTimeout(() => reject(new Error(`no answer within 10 s to #${n} ${req.method} ${req.url.slice(0, 200)}`)), 10_000);
      }),
    ]).finally(() => clearTimeout(bound));
    statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
    if (res.statusCode >= 500)
      serverErrors.push(`#${n} ${req.method} ${req.url.slice(0, 120)} → ${res.statusCode} ${res.body.slice(0, 200)}`);
    if (res.statusCode >= 400) refused.add(m);
  }
  t.diagnostic(`statuses: ${JSON.stringify(Object.fromEntries([...statuses].sort((a, b) => a[0] - b[0])))}`);

  await t.test('no answer was a 5xx', () => {
    assert.deepEqual(serverErrors.slice(0, 20), [], `${serverErrors.length} answers were 5xx`);
  });
  await t.test('most requests were refused, and some of them accepted (the mutations reach the handlers)', () => {
    const ok = [...statuses].filter(([s]) => s < 300).reduce((a, [, c]) => a + c, 0);
    assert.ok(ok > 200 && ok < REQUESTS - 2000, `${ok} accepted`);
  });
  await t.test('the heap is back near where it was after warm-up', () => {
    const grown = heapAfterGc() - heapStart;
    t.diagnostic(`heap after warm-up ${(heapStart / 2 ** 20).toFixed(1)} MiB, grown by ${(grown / 2 ** 20).toFixed(1)} MiB`);
    assert.ok(grown < 32 * 2 ** 20, `heap grew by ${(grown / 2 ** 20).toFixed(1)} MiB`);
  });
  await t.test('nothing of a refused request was stored', async () => {
    const { rows } = await svc.db.query<{ id: string }>(
      `SELECT id FROM spaces WHERE id LIKE 'fz%' UNION ALL SELECT id FROM items WHERE id LIKE 'fz%'
       UNION ALL SELECT id FROM users WHERE id LIKE 'fz%' UNION ALL SELECT event_id FROM interactions WHERE event_id LIKE 'fz%'
       UNION ALL SELECT name FROM api_keys WHERE name LIKE 'fz%'
       UNION ALL SELECT substring(url from '/hooks/(.*)$') FROM webhook_subscriptions`,
    );
    const leaked = rows.map((r) => /^fz\d+x/.exec(r.id)?.[0]).filter((m): m is string => !!m && refused.has(m));
    assert.deepEqual(leaked.slice(0, 20), [], `${leaked.length} rows from refused requests`);
    assert.ok(rows.length > 0, 'accepted requests did store rows (the query can find them)');
  });
});
