// The lookup cache's guards: a fill that raced with an invalidation is discarded, nothing is
// served or stored while the invalidation feed is down, and the bound holds.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EmbeddingCache, embeddingJson } from '../../src/lookup/cache.js';

const row = (id: string, version = 1) => ({ id, vector: Float32Array.from([1, 2]), version, kind: 'cold' });

test('a fill read before an invalidation is discarded; one read after is kept', () => {
  const c = new EmbeddingCache(10);
  const before = c.epoch;
  c.invalidate('s', ['a']); // a writer committed while the read was in flight
  c.fill('s', [row('a', 1)], before);
  assert.equal(c.get('s', 'a'), undefined);
  c.fill('s', [row('a', 2)], c.epoch);
  assert.equal(c.get('s', 'a')?.version, 2);
});

test('invalidation drops the entry, in that space only', () => {
  const c = new EmbeddingCache(10);
  c.fill('s', [row('a')], c.epoch);
  c.fill('t', [row('a')], c.epoch);
  c.invalidate('s', ['a']);
  assert.equal(c.get('s', 'a'), undefined);
  assert.equal(c.get('t', 'a')?.version, 1);
});

test('while the invalidation feed is down nothing is served or stored', () => {
  const c = new EmbeddingCache(10);
  c.fill('s', [row('a')], c.epoch);
  c.setEnabled(false);
  assert.equal(c.get('s', 'a'), undefined);
  c.fill('s', [row('b')], c.epoch);
  c.setEnabled(true);
  assert.equal(c.get('s', 'a'), undefined, 'what was cached before the outage is gone');
  assert.equal(c.get('s', 'b'), undefined, 'nothing was stored during it');
});

test('the bound holds: the oldest entry goes first; a bound of 0 caches nothing', () => {
  const c = new EmbeddingCache(2);
  c.fill('s', [row('a'), row('b'), row('c')], c.epoch);
  assert.equal(c.size, 2);
  assert.equal(c.get('s', 'a'), undefined);
  assert.ok(c.get('s', 'c'));
  const off = new EmbeddingCache(0);
  off.fill('s', [row('a')], off.epoch);
  assert.equal(off.size, 0);
});

test('the cached JSON fragment is the vector, version and kind', () => {
  const e = { vector: Float32Array.from([0.5, -1]), version: 3, kind: 'refined' };
  assert.deepEqual(JSON.parse(`{${embeddingJson(e)}}`), { vector: [0.5, -1], version: 3, kind: 'refined' });
});
