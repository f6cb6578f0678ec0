// The lookup cache's id index (lookup/id-index.ts) against a Map doing the same: random
// inserts, finds and deletes over a few spaces, with ids of varied lengths and non-ASCII
// characters, enough of them to grow and rebuild the table, reuse slots for longer ids and
// compact the arena; every find agrees with the Map, and every id reads back as it went in.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { IdIndex } from '../../src/lookup/id-index.js';

/** A small seeded PRNG (mulberry32): the same sequence every run. */
function prng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

test('the id index agrees with a Map through growth, deletes, slot reuse and arena compaction', () => {
  const rand = prng(7);
  const index = new IdIndex();
  const model = new Map<string, number>(); // `${space}\u0000${id}` → slot
  const slotKey = new Map<number, string>();
  const free: number[] = [];
  let top = 0;
  const idFor = (k: number) => (k % 7 === 0 ? `é-${k}-✓` : `item-${k}`.padEnd(5 + (k % 40), 'x'));
  for (let step = 0; step < 60_000; step++) {
    const space = Math.floor(rand() * 3);
    const id = idFor(Math.floor(rand() * 8000));
    const key = `${space}\u0000${id}`;
    const r = rand();
    if (r < 0.55) {
      if (model.has(key)) continue;
      const slot = free.pop() ?? top++;
      index.reserve(top);
      index.insert(space, id, slot);
      model.set(key, slot);
      slotKey.set(slot, key);
    } else if (r < 0.8) {
      const slot = model.get(key);
      if (slot === undefined) continue;
      index.delete(slot);
      model.delete(key);
      slotKey.delete(slot);
      free.push(slot);
    } else {
      assert.equal(index.find(space, id), model.get(key) ?? -1, `find ${key}`);
    }
  }
  assert.equal(index.size, model.size);
  assert.ok(model.size > 1000, 'the table grew past its first size');
  for (const [key, slot] of model) {
    const [space, id] = key.split('\u0000') as [string, string];
    assert.equal(index.find(Number(space), id), slot);
    assert.equal(index.idOf(slot), id);
    assert.equal(index.spaceOf(slot), Number(space));
  }
  // the same id in another space is another key
  assert.equal(index.find(9, 'item-1'), -1);
  index.clear();
  assert.equal(index.size, 0);
  const [someKey] = model.keys();
  const [space, id] = someKey!.split('\u0000') as [string, string];
  assert.equal(index.find(Number(space), id), -1);
});
