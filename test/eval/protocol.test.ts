import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { loadMl100k, type MovieLens } from '../../src/eval/movielens.js';
import { warmUpSplit } from '../../src/eval/protocol.js';
import { itemTexts, parseCsv } from '../../src/eval/text.js';

const DATA = resolve(process.env.EMERFLOW_DATA ?? '../shared/data');
const have = existsSync(join(DATA, 'ml-100k', 'u.data'));
const skip = have ? false : `MovieLens-100k not found at ${DATA} (set EMERFLOW_DATA or put the shared data beside the checkout)`;

test('warm-up split on ML-100k: 117 established, 419 emerging, 8,380 per warm set, 21,428 test', { skip }, () => {
  const ml = loadMl100k(DATA);
  assert.equal(ml.ratings.length, 100_000);
  const s = warmUpSplit(ml, 200, 20);
  assert.equal(s.established.length, 117);
  assert.equal(s.emerging.length, 419);
  assert.equal(s.trainBase.length, 33_480);
  assert.deepEqual(s.warm.map((w) => w.length), [8380, 8380, 8380]);
  assert.equal(s.test.length, 21_428);
  assert.equal(s.established.length + s.emerging.length + s.dropped, 1682);
  // each emerging item: exactly 20 per warm set, and warm-a ≤ warm-b ≤ warm-c ≤ test in time
  const item = s.emerging[0]!;
  const times = [...s.warm, s.test].map((rows) => rows.filter((r) => r.item === item).map((r) => r.ts));
  assert.deepEqual(times.slice(0, 3).map((t) => t.length), [20, 20, 20]);
  for (let i = 0; i < 3; i++) assert.ok(Math.max(...times[i]!) <= Math.min(...times[i + 1]!));
  // labels: rating ≥ 4
  const pos = ml.ratings.filter((r) => r.rating >= 4).length;
  const all = [...s.trainBase, ...s.warm.flat(), ...s.test];
  assert.ok(all.every((r) => r.label === 0 || r.label === 1));
  assert.ok(pos > 0);
});

test('LLM and IMDb text joins report how many emerging items have text', { skip }, () => {
  const ml: MovieLens = loadMl100k(DATA);
  const s = warmUpSplit(ml);
  const llm = itemTexts(ml.movies, 'llm', DATA);
  const imdb = itemTexts(ml.movies, 'imdb', DATA);
  const none = itemTexts(ml.movies, 'none', DATA);
  const withText = (m: typeof llm) => s.emerging.filter((i) => m.get(i)?.enrichment).length;
  assert.ok(withText(llm) > 380 && withText(llm) <= 419, `llm ${withText(llm)}`);
  assert.ok(withText(imdb) > 380 && withText(imdb) <= 419, `imdb ${withText(imdb)}`);
  assert.equal(withText(none), 0);
  // IMDb rating and review count leak popularity: never in the text
  for (const t of imdb.values()) for (const k of Object.keys(t.enrichment ?? {})) assert.ok(!['rating', 'num_review'].includes(k));
  assert.equal(llm.get(1)?.raw.title, 'Toy Story');
});

test('CSV parser handles quotes, doubled quotes and newlines', () => {
  assert.deepEqual(parseCsv('a,b\n1,"x, ""y""\nz"\n'), [['a', 'b'], ['1', 'x, "y"\nz']]);
});
