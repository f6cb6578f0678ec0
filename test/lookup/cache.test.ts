// The lookup cache's guards: byte-bounded CLOCK eviction (hot entries stay), negative entries, fill guards per
// item (a write to one item, in this space or another, never discards a fill of others),
// the TTL, and nothing served or stored while the invalidation feed is down.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EmbeddingCache, embeddingJson, type CacheOptions, type Lookup } from '../../src/lookup/cache.js';

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
  new EmbeddingCache({ maxBytes: 1e6, ttlMs: 1000, negativeTtlMs: 100, now: () => clock, ...opts });
const version = (l: Lookup) => (l.hit && l.embedding ? l.embedding.version : l.hit ? 'negative' : 'miss');
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

test('the JSON fragment is made as bytes when the entry is stored, counts against the bound, and a hit makes nothing', () => {
  const c = cache();
  fill(c, 's', [row('a', 1, 64)]);
  const l = c.get('s', 'a');
  assert.ok(l.hit && l.embedding);
  const json = l.json;
  assert.ok(c.bytes >= 64 * 4 + json.length, `${c.bytes} bytes for a fragment of ${json.length}`);
  assert.equal(c.get('s', 'a'), l, 'the entry itself is the answer');
  // a fragment the caller already made (to answer with) is stored as it is
  const given = cache();
  const made = Buffer.from('"vector":[0.5,0.5],"version":1,"kind":"cold"');
  given.fill('s', given.beginRead(), [row('b', 1, 2)], [], [made]);
  const g = given.get('s', 'b');
  assert.ok(g.hit && g.embedding);
  assert.equal(g.json, made);
  assert.deepEqual(JSON.parse(`{${json}}`), { vector: Array(64).fill(0.5), version: 1, kind: 'cold' });
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
