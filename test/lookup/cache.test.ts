// The lookup cache's guards: byte-bounded CLOCK eviction (hot entries stay), negative entries, fill guards per
// item (a write to one item, in this space or another, never discards a fill of others),
// the TTL and the entries due to be read again before it, nothing served or stored while the invalidation feed is down, JSON fragments kept
// for hot entries within their share, and slots and vector rows reused without mixing entries.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ABSENT, EmbeddingCache, type CacheOptions } from '../../src/lookup/cache.js';
import { embeddingJson } from '../../src/lookup/fragments.js';

const row = (id: string, version = 1, dim = 2) => ({
  id,
  vector: new Float32Array(dim).fill(0.5),
  version,
  kind: 'cold',
  interactions: 0,
  modelVersion: 1,
  updatedAt: new Date(0),
});
let clock = 0;
const cache = (opts: Partial<CacheOptions> = {}) =>
  (current = new EmbeddingCache({ maxBytes: 1e6, ttlMs: 1000, negativeTtlMs: 100, now: () => clock, ...opts }));
/** What the cache answers for the id: the entry's version, 'negative' or 'miss'. */
let current: EmbeddingCache;
const version = (slot: number) => (slot >= 0 ? current.version(slot) : slot === ABSENT ? 'negative' : 'miss');
const fill = (c: EmbeddingCache, space: string, rows: ReturnType<typeof row>[], absent: string[] = []) =>
  c.fill(space, c.beginRead(), rows, absent);

test('a fill read before an invalidation of its item skips that item and keeps the others', () => {
  const c = cache();
  const token = c.beginRead();
  c.invalidate('s', ['a']); // a writer committed while the read was in flight
  c.fill('s', token, [row('a', 1), row('b', 1)]);
  assert.equal(version(c.get('s', 'a')), 'miss');
  assert.equal(version(c.get('s', 'b')), 1);
  fill(c, 's', [row('a', 2)]);
  assert.equal(version(c.get('s', 'a')), 2, 'a read that began after the invalidation fills');
});

test('per-item guards: a write in space A does not discard a concurrent fill in space B', () => {
  const c = cache();
  const token = c.beginRead();
  c.invalidate('A', ['x', 'y']);
  c.fill('B', token, [row('x'), row('y')]);
  assert.equal(version(c.get('B', 'x')), 1);
  assert.equal(version(c.get('B', 'y')), 1);
});

test('invalidation drops the entry, in that space only; a space-wide one drops them all', () => {
  const c = cache();
  fill(c, 's', [row('a'), row('b')]);
  fill(c, 't', [row('a')]);
  c.invalidate('s', ['a']);
  assert.equal(version(c.get('s', 'a')), 'miss');
  assert.equal(version(c.get('t', 'a')), 1);
  c.invalidateSpace('s');
  assert.equal(version(c.get('s', 'b')), 'miss');
  assert.equal(version(c.get('t', 'a')), 1);
});

test('negative entries: an id found absent is answered without a read, until its TTL or an invalidation', () => {
  clock = 0;
  const c = cache();
  fill(c, 's', [], ['ghost', 'soon']);
  assert.equal(version(c.get('s', 'ghost')), 'negative');
  c.invalidate('s', ['soon']); // it got its first embedding
  assert.equal(version(c.get('s', 'soon')), 'miss');
  clock = 150; // past negativeTtlMs (100)
  assert.equal(version(c.get('s', 'ghost')), 'miss');
});

test('the TTL: an entry is not served past it, so a lost invalidation heals by itself', () => {
  clock = 0;
  const c = cache();
  fill(c, 's', [row('a')]);
  clock = 999;
  assert.equal(version(c.get('s', 'a')), 1);
  clock = 1000;
  assert.equal(version(c.get('s', 'a')), 'miss');
  assert.equal(c.size, 0, 'and it is gone');
});

test('refreshDue: entries served since they were stored, near their deadline; a re-read of the same embedding renews it in place', () => {
  clock = 0;
  const c = cache(); // TTL 1000
  fill(c, 's', [row('a'), row('b')], ['n']);
  const kept = c.json(c.get('s', 'a')); // a is served (and its fragment kept); b is not
  assert.ok(Buffer.isBuffer(kept));
  c.get('s', 'n'); // a negative entry served: left to its own short TTL
  assert.deepEqual([...c.refreshDue(Infinity, 200, 700)], [], 'not within 200 ms of the deadline yet');
  clock = 850;
  assert.deepEqual([...c.refreshDue(Infinity, 200)], [['s', ['a']]]);
  fill(c, 's', [{ ...row('a'), interactions: 4 }]); // what a re-read found: the same version
  assert.deepEqual([...c.refreshDue(Infinity, 200)], [], 'renewed: not due until served again');
  clock = 1500; // past the first deadline, before the renewed one
  const slot = c.get('s', 'a');
  assert.equal(version(slot), 1);
  assert.equal(c.interactions(slot), 4, 'the re-read counts are kept');
  assert.equal(c.json(slot), kept, 'the same kept fragment');
  assert.equal(version(c.get('s', 'b')), 'miss', 'b was not in use: it expired');
  fill(c, 's', [row('a', 2)]);
  assert.notEqual(c.json(c.get('s', 'a')), kept, 'a new version is a new entry');
  assert.equal(version(c.get('s', 'a')), 2);
});

test('renewIfCurrent: current entries get a new deadline; changed or gone ids come back; ids invalidated during the check do not', () => {
  clock = 0;
  const c = cache(); // TTL 1000
  fill(c, 's', [row('a'), row('b'), row('c'), row('d')]);
  clock = 900;
  const token = c.beginRead();
  c.invalidate('s', ['d']); // written while the check was in flight
  const stamp = (id: string, version: number) => ({ id, version, updatedAt: new Date(0) });
  const changed = c.renewIfCurrent('s', token, ['a', 'b', 'c', 'd', 'x'], [stamp('a', 1), stamp('b', 2), stamp('d', 2)]);
  assert.deepEqual(changed, ['b', 'c'], 'b serves another version, c nothing; x is not cached, d was invalidated');
  clock = 1500;
  assert.equal(version(c.get('s', 'a')), 1, 'renewed at 900');
  assert.equal(version(c.get('s', 'b')), 'miss', 'not renewed: past its deadline');
});

test('refreshDue: the hand moves `steps` slots a call, and comes round again', () => {
  clock = 0;
  const c = cache();
  fill(c, 's', [row('a'), row('b')]);
  c.get('s', 'a');
  c.get('s', 'b');
  clock = 900;
  const seen = [0, 1, 2].map(() => [...c.refreshDue(1, 200).values()].flat());
  assert.deepEqual(seen, [['a'], ['b'], ['a']]);
});

test('bounded by bytes, an entry read since the hand last passed stays; 0 bytes caches nothing', () => {
  clock = 0;
  const probe = cache();
  fill(probe, 's', [row('a', 1, 64)]);
  const one = probe.bytes;
  const c = cache({ maxBytes: 3 * one + 10 });
  fill(c, 's', [row('a', 1, 64), row('b', 1, 64), row('c', 1, 64)]);
  assert.equal(c.size, 3);
  c.get('s', 'a'); // a was read; b and c were not
  fill(c, 's', [row('d', 1, 64)]);
  assert.equal(version(c.get('s', 'b')), 'miss', 'the first unread one went');
  for (const id of ['a', 'c', 'd']) assert.equal(version(c.get('s', id)), 1, id);
  assert.ok(c.bytes <= 3 * one + 10, `${c.bytes} bytes held`);
  // a, c and d were all read just now: the hand clears their bits on its first turn and
  // takes the first it comes back to (c, after the b it took last time); a read since
  // then saves an entry again
  c.get('s', 'd');
  fill(c, 's', [row('e', 1, 64)]);
  assert.equal(c.size, 3);
  c.get('s', 'a');
  fill(c, 's', [row('f', 1, 64)]);
  assert.equal(version(c.get('s', 'a')), 1, 'read since the last pass: kept');
  assert.equal(version(c.get('s', 'f')), 1, 'the newest is never its own victim');
  assert.ok(c.bytes <= 3 * one + 10, `${c.bytes} bytes held`);
  const tiny = cache({ maxBytes: 10 });
  fill(tiny, 's', [row('a', 1, 64)]);
  assert.equal(tiny.size, 0, 'an entry larger than the whole bound is not kept');
  assert.equal(tiny.bytes, 0);
  const off = cache({ maxBytes: 0 });
  fill(off, 's', [row('a')]);
  assert.equal(off.size, 0);
});

test('JSON fragments: kept for an entry while their share has room, counted in the bound, dropped with the entry', () => {
  const c = cache();
  fill(c, 's', [row('a', 1, 64)]);
  const entryBytes = c.bytes;
  const first = c.json(c.get('s', 'a'));
  assert.ok(Buffer.isBuffer(first), 'kept as bytes');
  assert.equal(c.jsonBytes, first.length);
  assert.equal(c.bytes, entryBytes + first.length);
  assert.equal(c.json(c.get('s', 'a')), first, 'a hit makes nothing');
  assert.deepEqual(JSON.parse(`{${first.toString()}}`), { vector: Array(64).fill(0.5), version: 1, kind: 'cold' });
  c.invalidate('s', ['a']);
  assert.equal(c.bytes, 0, 'gone with its entry');
});

test('JSON fragments: with their share full, a new one is kept on its second use and the hand takes an unused one', () => {
  const probe = cache();
  fill(probe, 's', [row('x', 1, 64)]);
  const len = probe.json(probe.get('s', 'x')).length;
  // a share (1/8 of the bound) of two fragments
  const c = cache({ maxBytes: 8 * (2 * len + 10) });
  fill(
    c,
    's',
    ['a', 'b', 'c', 'd'].map((id) => row(id, 1, 64)),
  );
  const json = (id: string) => c.json(c.get('s', id));
  assert.ok(Buffer.isBuffer(json('a')) && Buffer.isBuffer(json('b')), 'made while there was room: kept');
  assert.equal(typeof json('c'), 'string', 'share full, first use: made, not kept');
  assert.equal(c.jsonBytes, 2 * len);
  // second use: kept; the hand clears a's and b's bits on its first turn and takes a
  assert.ok(Buffer.isBuffer(json('c')));
  assert.equal(c.jsonBytes, 2 * len);
  assert.equal(typeof json('a'), 'string', 'a was taken');
  // b has not been used since the hand passed it, c (just kept) has: b goes for d
  assert.equal(typeof json('d'), 'string');
  assert.ok(Buffer.isBuffer(json('d')));
  assert.equal(typeof json('b'), 'string', 'b was taken');
  assert.ok(Buffer.isBuffer(json('c')), 'c stayed');
  assert.equal(c.jsonBytes, 2 * len);
  assert.equal(c.size, 4, 'fragments come and go; their entries stay');
});

test('JSON fragments: first uses are forgotten after a window, so evenly spread traffic does not churn the share', () => {
  // room for every entry; a share (1/8 of the bound) of far fewer fragments than there are items
  const c = cache({ maxBytes: 5e6 });
  const ids = Array.from({ length: 10_000 }, (_, i) => `i${i}`);
  fill(
    c,
    's',
    ids.map((id) => row(id, 1, 64)),
  );
  const json = (id: string) => c.json(c.get('s', id));
  let kept = 0;
  for (const id of ids) if (Buffer.isBuffer(json(id))) kept++;
  const share = kept; // kept while there was room
  assert.ok(share > 1024 && share < ids.length / 2, `the share holds ${share}`);
  assert.equal(c.size, ids.length, 'every entry stayed');
  // a second pass: without the window every use would be a second one, each taking a fragment
  // out for a new one; uses marked more than a window ago are first uses again
  kept = 0;
  for (const id of ids.slice(share)) if (Buffer.isBuffer(json(id))) kept++;
  assert.ok(kept < (ids.length - share) / 4, `a second use long after the first is mostly not kept (${kept} of ${ids.length - share})`);
  // a second use soon after the first is kept
  const next = ids.slice(share).find((id) => typeof json(id) === 'string');
  assert.ok(next !== undefined && Buffer.isBuffer(json(next)), `${next}: kept on its second use in a row`);
  assert.ok(c.jsonBytes <= 5e6 / 8, 'never past the share');
});

test('slots and vector rows are reused without mixing entries, across spaces of different dimensions', () => {
  const c = cache();
  const vec = (dim: number, x: number) => Float32Array.from({ length: dim }, (_, j) => x + j / 1000);
  // versions are whole numbers (the cache keeps them as such); large ones are 1000 above small ones
  const put = (space: string, id: string, dim: number, version: number, x: number) =>
    fill(c, space, [{ ...row(id, version, dim), vector: vec(dim, x) }]);
  for (let round = 0; round < 3; round++) {
    for (let i = 0; i < 50; i++) {
      put('small', `i${i}`, 8, round * 100 + i, round * 100 + i);
      put('large', `i${i}`, 48, 1000 + round * 100 + i, round * 100 + i + 0.5);
    }
    c.invalidate(
      'small',
      Array.from({ length: 25 }, (_, i) => `i${2 * i}`),
    ); // every other one: freed slots and rows
    fill(c, 'small', [], ['i0']); // a negative entry takes one of them
  }
  for (let i = 0; i < 50; i++) {
    const large = c.get('large', `i${i}`);
    assert.deepEqual(c.vector(large), vec(48, 200 + i + 0.5), `large i${i}`);
    const small = c.get('small', `i${i}`);
    if (i === 0) assert.equal(small, ABSENT);
    else if (i % 2 === 0) assert.equal(small, -1, `small i${i} was invalidated`);
    else {
      assert.deepEqual(c.vector(small), vec(8, 200 + i), `small i${i}`);
      assert.equal(c.version(small), 200 + i);
      const out = new Float32Array(10);
      c.copyVector(small, out, 1);
      assert.deepEqual(out.subarray(1, 9), vec(8, 200 + i));
    }
  }
  assert.equal(c.size, 50 + 25 + 1);
  const e = c.embedding(c.get('large', 'i3'));
  assert.deepEqual(
    { ...e, vector: Array.from(e.vector) },
    { vector: Array.from(vec(48, 203.5)), version: 1203, kind: 'cold', interactions: 0, modelVersion: 1, updatedAt: new Date(0) },
  );
});

test('while the invalidation feed is down nothing is served or stored', () => {
  const c = cache();
  fill(c, 's', [row('a')]);
  c.setEnabled(false);
  assert.equal(version(c.get('s', 'a')), 'miss');
  fill(c, 's', [row('b')]);
  c.setEnabled(true);
  assert.equal(version(c.get('s', 'a')), 'miss', 'what was cached before the outage is gone');
  assert.equal(version(c.get('s', 'b')), 'miss', 'nothing was stored during it');
  const token = c.beginRead();
  c.setEnabled(false);
  c.setEnabled(true);
  c.fill('s', token, [row('c')]);
  assert.equal(version(c.get('s', 'c')), 'miss', 'a read that spanned the outage is not stored either');
});

test('the fragment is the vector, version and kind', () => {
  const e = { ...row('a'), vector: Float32Array.from([0.5, -1]), version: 3, kind: 'refined' };
  assert.deepEqual(JSON.parse(`{${embeddingJson(e)}}`), { vector: [0.5, -1], version: 3, kind: 'refined' });
});
