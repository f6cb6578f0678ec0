import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadMl100k } from '../../src/eval/movielens.js';
import { loadDataset } from '../../src/eval/dataset/load.js';
import type { Dataset } from '../../src/eval/dataset/types.js';
import { parseCsv } from '../../src/eval/dataset/csv.js';
import { warmUpSplit } from '../../src/eval/protocol.js';
import { itemTexts, type TextMode } from '../../src/eval/text.js';
import { serializeFeatures } from '../../src/model/serialize.js';
import { DATA, dataTest } from './data.js';

// Both data tests read ml-100k without text; nothing here changes a dataset, so one load serves them.
let withoutText: Dataset | undefined;
const ml100kWithoutText = (): Dataset => (withoutText ??= loadDataset('ml-100k', { dataDir: DATA, text: 'none' }));

dataTest('warm-up split on ML-100k: 117 established, 419 emerging, 8,380 per warm set, 21,428 test', {}, async (t) => {
  const ml = loadMl100k(DATA);
  const ds = ml100kWithoutText();
  const s = warmUpSplit(ds, 200, 20);
  await t.test('all 100,000 ratings load, numbered by their ML ids', () => {
    assert.equal(ds.interactions.length, 100_000);
    assert.equal(ds.items.length, 1682);
    assert.equal(ds.users.length, 943);
    ds.items.forEach((it, j) => assert.equal(it.id, String(j + 1)));
    assert.deepEqual(ds.interactions[0], { user: 196, item: 242, label: 0, ts: 881250949, order: 0 });
  });
  await t.test('item counts: established, emerging, and every item placed once', () => {
    assert.equal(s.established.length, 117);
    assert.equal(s.emerging.length, 419);
    assert.equal(s.established.length + s.emerging.length + s.dropped, 1682);
  });
  await t.test('row counts: base, warm sets, test', () => {
    assert.equal(s.trainBase.length, 33_480);
    assert.deepEqual(
      s.warm.map((w) => w.length),
      [8380, 8380, 8380],
    );
    assert.equal(s.test.length, 21_428);
  });
  await t.test('each emerging item: exactly 20 per warm set, and warm-a ≤ warm-b ≤ warm-c ≤ test in time', () => {
    const item = s.emerging[0]!;
    const times = [...s.warm, s.test].map((rows) => rows.filter((r) => r.item === item).map((r) => r.ts));
    assert.deepEqual(
      times.slice(0, 3).map((ts) => ts.length),
      [20, 20, 20],
    );
    for (let i = 0; i < 3; i++) assert.ok(Math.max(...times[i]!) <= Math.min(...times[i + 1]!));
  });
  await t.test('labels: 1 for a rating of 4 or 5, else 0, and both occur', () => {
    const rating = new Map(ml.ratings.map((r) => [`${r.user}:${r.item}`, r.rating]));
    const all = [...s.trainBase, ...s.warm.flat(), ...s.test];
    for (const r of all) assert.equal(r.label, (rating.get(`${r.user}:${r.item}`) ?? 0) >= 4 ? 1 : 0, `user ${r.user} item ${r.item}`);
    const positives = all.filter((r) => r.label === 1).length;
    assert.ok(positives > 0 && positives < all.length, `${positives} of ${all.length} positive`);
  });
});

dataTest('LLM and IMDb text joins report how many emerging items have text', {}, async (t) => {
  const texts = (text: TextMode) => itemTexts(text === 'none' ? ml100kWithoutText() : loadDataset('ml-100k', { dataDir: DATA, text }));
  const s = warmUpSplit(ml100kWithoutText());
  const withText = (m: ReturnType<typeof itemTexts>) => s.emerging.filter((i) => m.get(i)?.enrichment).length;
  await t.test('LLM paragraphs join by title for most emerging items', () => {
    const llm = texts('llm');
    assert.ok(withText(llm) > 380 && withText(llm) <= 419, `llm ${withText(llm)}`);
    assert.equal(llm.get(1)?.raw.title, 'Toy Story');
  });
  await t.test('IMDb text joins by id, without rating or review count (they leak popularity)', () => {
    const imdb = texts('imdb');
    assert.ok(withText(imdb) > 380 && withText(imdb) <= 419, `imdb ${withText(imdb)}`);
    for (const x of imdb.values()) for (const k of Object.keys(x.enrichment ?? {})) assert.ok(!['rating', 'num_review'].includes(k));
  });
  await t.test('text "none": no enrichment', () => assert.equal(withText(texts('none')), 0));
  await t.test("EmerFlow's raw text of an item is what it was before the generic dataset (genres a list now)", () => {
    const raw = texts('none').get(1)!.raw; // Toy Story is item 1
    assert.equal(serializeFeatures(raw), "genres: Animation, Children's, Comedy\ntitle: Toy Story\nyear: 1995");
  });
});

test('CSV parser handles quotes, doubled quotes and newlines', () => {
  assert.deepEqual(parseCsv('a,b\n1,"x, ""y""\nz"\n'), [
    ['a', 'b'],
    ['1', 'x, "y"\nz'],
  ]);
});
