// The reads behind the lookup cache (lookup/reads.ts), against a real Postgres: lookups that
// miss the same id in one event-loop turn share one query, and the ids missed by different
// lookups in that turn go out together (one query per space); a read in flight is joined by
// later ones; an invalidation of a cached entry reads it again with no lookup asking
// (refresh-ahead) and gets the value now in the database; a read issued after an
// invalidation or a clear never joins a read that began before it, and the older read does
// not put its stale value in the cache; an id with no embedding is a negative entry.
// Queries are counted by a wrapper that passes each one on to the real pool (and can hold
// back a result, to keep a read in flight while the test writes).
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createPool, type Db, type Queryable } from '../../src/db/pool.js';
import { migrate } from '../../src/db/migrate.js';
import { createSpace } from '../../src/db/spaces.js';
import { appendEmbeddings } from '../../src/db/embeddings.js';
import { ABSENT, EmbeddingCache, MISS, type CacheOptions } from '../../src/lookup/cache.js';
import { TtlRefresh } from '../../src/lookup/ttl-refresh.js';
import { EmbeddingReads } from '../../src/lookup/reads.js';
import { lookup } from '../../src/lookup/read-through.js';
import { defer, freshDatabase, waitFor } from '../support/service.js';

const S = 'r';
const T = 'r2';
const vec = (x: number) => Float32Array.from([x, x, x, x]);
/** After the reads issued so far have sent their queries (reads.ts sends them on the next turn, from setImmediate). */
const nextTurn = () => new Promise<void>((r) => setImmediate(r));

interface Held {
  /** resolves once the held query has run on Postgres (its result is read, not yet handed back) */
  ran: Promise<void>;
  release: () => void;
}

/** The real pool, with each query counted (space and ids) and, when asked, one result held back. */
class Counting {
  readonly calls: { space: string; ids: string[] }[] = [];
  private next: (Held & { done: () => void; gate: Promise<void> }) | undefined;

  constructor(private readonly db: Db) {}

  /** The next query runs at once, but its result reaches the caller only once `release` is called. */
  holdNext(): Held {
    let done!: () => void;
    let release!: () => void;
    const ran = new Promise<void>((r) => (done = r));
    const gate = new Promise<void>((r) => (release = r));
    this.next = { ran, release, done, gate };
    return { ran, release };
  }

  readonly query = (async (text: string, values?: unknown[]) => {
    this.calls.push({ space: values?.[0] as string, ids: [...(values?.[1] as string[])].sort() });
    const held = this.next;
    this.next = undefined;
    const result = await this.db.query(text, values);
    if (held) {
      held.done();
      await held.gate;
    }
    return result;
  }) as unknown as Queryable['query'];
}

async function setup(t: TestContext, cacheOptions: Partial<CacheOptions> = {}) {
  const db = createPool(await freshDatabase(t), { max: 4 });
  defer(t, () => db.end());
  await migrate(db);
  for (const id of [S, T]) await createSpace(db, { id, dim: 4, itemType: 'movie', scorer: 'dot' });
  await db.query(
    `INSERT INTO items (space_id, id, features, content_hash, state)
     SELECT s, i, '{}', 'h', 'established' FROM unnest($1::text[]) s, unnest($2::text[]) i`,
    [
      [S, T],
      ['a', 'b', 'c', 'bare'],
    ],
  );
  // every item but 'bare' serves a vector: a's is all 1, b's all 2, c's all 3 (version 1 each)
  for (const space of [S, T]) {
    await appendEmbeddings(db, space, 'base', 'established', [
      { id: 'a', vector: vec(1) },
      { id: 'b', vector: vec(2) },
      { id: 'c', vector: vec(3) },
    ]);
  }
  const counting = new Counting(db);
  const cache = new EmbeddingCache({ maxBytes: 1e6, ttlMs: 60_000, negativeTtlMs: 60_000, ...cacheOptions });
  const reads = new EmbeddingReads(counting, cache);
  /** Writes a new served vector (all `x`) for the item; its new version. */
  const write = async (id: string, x: number, space = S) => {
    const [r] = await appendEmbeddings(db, space, 'base', 'established', [{ id, vector: vec(x) }]);
    assert.ok(r, `a new version of ${id} was written`);
    return r.version;
  };
  /** What the cache holds for the id: its version and first component, 'negative' or 'miss'. */
  const cached = (id: string, space = S) => {
    const slot = cache.get(space, id);
    if (slot === MISS) return 'miss';
    if (slot === ABSENT) return 'negative';
    return { version: cache.version(slot), x: cache.vector(slot)[0] };
  };
  return { db, counting, cache, reads, write, cached };
}

test('two lookups missing the same id in one turn make one query, and both get the row', async (t) => {
  const { counting, cache, reads, cached } = await setup(t);
  const [one, two] = await Promise.all([lookup({ cache, reads }, S, ['a'], 'vector'), lookup({ cache, reads }, S, ['a', 'b'], 'vector')]);
  assert.equal(counting.calls.length, 1, 'one query for both lookups');
  assert.deepEqual(counting.calls[0], { space: S, ids: ['a', 'b'] }, 'each id read once');
  for (const found of [one, two]) {
    assert.ok(found.has(0));
    assert.deepEqual(found.embedding(0).vector, vec(1));
    assert.equal(found.embedding(0).version, 1);
  }
  assert.deepEqual(two.embedding(1).vector, vec(2));
  // the read filled the cache: the next lookup of both reads nothing
  assert.deepEqual(cached('a'), { version: 1, x: 1 });
  const again = await lookup({ cache, reads }, S, ['a', 'b'], 'json');
  assert.ok(again.has(0) && again.has(1));
  assert.equal(counting.calls.length, 1, 'the cached ids were not read again');
});

test('ids missed by different reads in one turn go out in one query per space; a later read joins the one in flight', async (t) => {
  const { counting, reads } = await setup(t);
  const held = counting.holdNext(); // the first query: space S's (its ids were queued first)
  const first = reads.read(S, ['a']);
  const second = reads.read(S, ['b', 'c', 'a']);
  const other = reads.read(T, ['a']);
  await held.ran; // S's query has run on Postgres and is held in flight
  assert.deepEqual(counting.calls, [
    { space: S, ids: ['a', 'b', 'c'] },
    { space: T, ids: ['a'] },
  ]);
  // a turn later, a read of an id whose query is in flight joins it
  const joined = reads.read(S, ['c']);
  held.release();
  const [[a], [b, c, a2], [ta], [j]] = await Promise.all([first, second, other, joined]);
  assert.equal(counting.calls.length, 2, 'the later read joined the query in flight');
  assert.deepEqual(
    [a, b, c, ta].map((r) => r?.vector[0]),
    [1, 2, 3, 1],
  );
  assert.equal(a2, a, 'both reads of a got the one row');
  assert.equal(j, c, 'the joining read got the row of the query it joined');
});

test('an invalidated entry the cache held is read again with no lookup, and gets the value now in the database', async (t) => {
  const { counting, cache, reads, write, cached } = await setup(t);
  assert.deepEqual(
    (await reads.read(S, ['a', 'b', 'ghost'])).map((r) => r?.version),
    [1, 1, undefined],
  );
  assert.deepEqual(cached('a'), { version: 1, x: 1 });
  assert.equal(cached('ghost'), 'negative');
  const before = counting.calls.length;
  const version = await write('a', 7);
  assert.equal(version, 2);
  // 'never' was never cached and 'ghost' is a negative entry: neither is read ahead
  cache.invalidate(S, ['a', 'never', 'ghost']);
  assert.equal(cached('a'), 'miss', 'the invalidation dropped the entry');
  await waitFor(async () => {
    const now = cached('a');
    return now !== 'miss' && now !== 'negative' && now.version === version;
  }, 'the refresh-ahead read of a');
  assert.deepEqual(cached('a'), { version: 2, x: 7 });
  assert.deepEqual(counting.calls.slice(before), [{ space: S, ids: ['a'] }], 'one query, of the id the cache held only');
  assert.deepEqual(cached('b'), { version: 1, x: 2 }, 'the others stay');
  assert.equal(reads.refreshFailures, 0);
});

test('a lookup after an invalidation joins the refresh-ahead read in flight instead of making its own', async (t) => {
  const { counting, cache, reads, write, cached } = await setup(t);
  await reads.read(S, ['a']);
  const before = counting.calls.length;
  await write('a', 5);
  const held = counting.holdNext();
  cache.invalidate(S, ['a']);
  await held.ran; // the refresh has read the new version and is in flight
  const finding = lookup({ cache, reads }, S, ['a'], 'vector');
  await nextTurn();
  assert.equal(counting.calls.length, before + 1, 'the lookup made no query of its own');
  held.release();
  const found = await finding;
  assert.deepEqual(found.embedding(0).vector, vec(5));
  assert.deepEqual(cached('a'), { version: 2, x: 5 });
});

test('a read issued after an invalidation does not join the older read in flight, which fills nothing stale', async (t) => {
  const { counting, cache, reads, write, cached } = await setup(t);
  const held = counting.holdNext();
  const older = reads.read(S, ['a']);
  await held.ran; // it has read version 1, and is still in flight
  const version = await write('a', 9); // a refinement commits…
  cache.invalidate(S, ['a']); // …and its invalidation arrives
  const reading = reads.read(S, ['a']);
  await nextTurn(); // the turn its query goes out in (had it joined the older read, it would wait on it)
  assert.equal(counting.calls.length, 2, 'the newer read made its own query');
  const newer = await reading;
  assert.equal(newer[0]?.version, version);
  assert.deepEqual(newer[0]?.vector, vec(9));
  assert.deepEqual(cached('a'), { version, x: 9 });
  held.release();
  const [old] = await older;
  assert.equal(old?.version, 1, 'the older read answers what it read (its callers asked before the write)');
  assert.deepEqual(cached('a'), { version, x: 9 }, 'its fill did not put version 1 back');
});

test('an older read finishing after an invalidation, before any newer read, leaves the id uncached', async (t) => {
  const { counting, cache, reads, write, cached } = await setup(t);
  const held = counting.holdNext();
  const older = reads.read(S, ['a', 'b']);
  await held.ran;
  await write('a', 4);
  cache.invalidate(S, ['a']);
  held.release();
  const [a, b] = await older;
  assert.equal(a?.version, 1);
  assert.equal(cached('a'), 'miss', 'the stale version is not stored');
  assert.deepEqual(cached('b'), { version: 1, x: 2 }, 'the ids not invalidated are');
  assert.equal(b?.version, 1);
  const [fresh] = await reads.read(S, ['a']);
  assert.equal(fresh?.version, 2);
  assert.equal(counting.calls.length, 2);
});

test('an id with no embedding resolves to undefined and is stored as a negative entry', async (t) => {
  const { counting, cache, reads, cached } = await setup(t);
  // 'ghost' has no item, 'bare' an item that serves nothing
  const [ghost, bare, a] = await reads.read(S, ['ghost', 'bare', 'a']);
  assert.equal(ghost, undefined);
  assert.equal(bare, undefined);
  assert.equal(a?.version, 1);
  assert.equal(cached('ghost'), 'negative');
  assert.equal(cached('bare'), 'negative');
  assert.equal(cached('ghost', T), 'miss', 'only in the space it was read in');
  const found = await lookup({ cache, reads }, S, ['ghost', 'bare', 'a'], 'json');
  assert.deepEqual([found.has(0), found.has(1), found.has(2)], [false, false, true]);
  assert.equal(counting.calls.length, 1, 'the negative entries spared the database');
});

test('after cache.clear() a read does not join a read in flight, and the older read fills nothing', async (t) => {
  const { counting, cache, reads, write, cached } = await setup(t);
  const held = counting.holdNext();
  const older = reads.read(S, ['a']);
  await held.ran;
  const version = await write('a', 6);
  cache.clear();
  const reading = reads.read(S, ['a']);
  await nextTurn();
  assert.equal(counting.calls.length, 2, 'the read after the clear made its own query');
  const [newer] = await reading;
  assert.equal(newer?.version, version);
  assert.deepEqual(cached('a'), { version, x: 6 });
  held.release();
  const [old] = await older;
  assert.equal(old?.version, 1);
  assert.deepEqual(cached('a'), { version, x: 6 }, 'the read from before the clear filled nothing');
});

test('an entry in use is checked before its deadline: the change of a lost invalidation is read, an unchanged one renewed', async (t) => {
  let clock = 0;
  const { counting, cache, reads, write, cached } = await setup(t, { ttlMs: 1000, now: () => clock });
  await lookup({ cache, reads }, S, ['a', 'b'], 'json'); // both stored at 0: deadline 1000
  assert.deepEqual(cached('a'), { version: 1, x: 1 }); // a is served again; b is not
  // nothing here listens for invalidations: this write's is lost to this cache
  const v2 = await write('a', 5);
  const refresh = new TtlRefresh(cache, reads, 1000); // due in the last 200 ms
  clock = 700;
  assert.equal(await refresh.tick(Infinity), 0, 'not due yet');
  clock = 850;
  let before = counting.calls.length;
  assert.equal(await refresh.tick(Infinity), 1, 'a is due');
  assert.deepEqual(
    counting.calls.slice(before),
    [
      { space: S, ids: ['a'] }, // what it serves now: another version
      { space: S, ids: ['a'] }, // so it is read whole
    ],
    'the entry in use only',
  );
  clock = 1500; // past the first deadline
  assert.deepEqual(cached('a'), { version: v2, x: 5 }, 'served without a read, and current');
  assert.equal(cached('b'), 'miss', 'b was not in use: it expired');
  clock = 1800; // a, served again at 1500, is due again (stored by the read at 850: deadline 1850)
  before = counting.calls.length;
  assert.equal(await refresh.tick(Infinity), 1);
  assert.deepEqual(counting.calls.slice(before), [{ space: S, ids: ['a'] }], 'unchanged: the check alone, no vector read');
  clock = 2500; // past that deadline: renewed at 1800
  assert.deepEqual(cached('a'), { version: v2, x: 5 });
});
