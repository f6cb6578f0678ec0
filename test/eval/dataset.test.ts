// The generic dataset layout (docs/datasets.md): a synthetic dataset written here loads as documented
// and runs the whole evaluation on both backbones; bad files are reported by file, line and column;
// ml-100k exported by the CLI and read back is the same dataset and gives the same results.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { loadDataset } from '../../src/eval/dataset/load.js';
import { parseTimestamp } from '../../src/eval/dataset/generic.js';
import { DatasetError } from '../../src/eval/dataset/errors.js';
import { runEval, STAGES, type EvalOptions, type EvalResults } from '../../src/eval/run.js';
import { ALL_METHODS } from '../../src/eval/methods.js';
import { disposeFeatures, featureFields } from '../../src/eval/features.js';
import { initEvalBackend } from '../../src/eval/tf.js';
import { DATA, dataTest, DEEPFM_EMERFLOW, SLICE } from './data.js';
import { entryArgs } from '../support/processes.js';
import { HAS_TEXT, IN_USERS_CSV, PER_ITEM, writeSynthetic as writeIn } from '../support/synthetic-dataset.js';

const writeSynthetic = (name: string, withUsers = true) => writeIn(tmp, name, withUsers);

const tmp = mkdtempSync(join(tmpdir(), 'emerflow-dataset-'));
test.after(() => rmSync(tmp, { recursive: true, force: true }));

test('timestamps: Unix seconds, or ISO 8601 dates and times (UTC unless they name an offset)', () => {
  assert.equal(parseTimestamp('1700000000'), 1_700_000_000);
  assert.equal(parseTimestamp('1700000000.5'), 1_700_000_000.5);
  assert.equal(parseTimestamp('2023-11-14T22:13:20Z'), 1_700_000_000);
  assert.equal(parseTimestamp('2023-11-14T22:13:20.250Z'), 1_700_000_000.25);
  assert.equal(parseTimestamp('2023-11-14T23:13:20+01:00'), 1_700_000_000);
  assert.equal(parseTimestamp('2023-11-14T23:13:20+0100'), 1_700_000_000);
  assert.equal(parseTimestamp('2023-11-14 22:13:20'), 1_700_000_000);
  assert.equal(parseTimestamp('2023-11-14'), 1_699_920_000);
  for (const bad of ['', 'yesterday', '14/11/2023', '2023-11-14T22']) assert.equal(parseTimestamp(bad), null, bad);
});

test('side fields: words in ≥ 2 items, list values, number bins with a missing bin; one field per feature name', async () => {
  await initEvalBackend();
  const fields = featureFields(
    [
      { title: 'Red Fox', year: 1990, tags: ['x'] },
      { title: 'red hen', year: 2000, tags: ['x', 'y'] },
      { title: 'Blue', tags: 'y' },
    ],
    'words',
  );
  assert.deepEqual(
    fields.map((f) => [f.name, f.kind, f.size]),
    [
      ['tags', 'values', 2],
      ['title', 'words', 1],
      ['year', 'bins', 3],
    ],
  );
  assert.deepEqual(
    fields.map((f) => f.x.arraySync()),
    [
      [
        [1, 0],
        [1, 1],
        [0, 1],
      ],
      [[1], [1], [0]],
      [
        [1, 0, 0],
        [0, 1, 0],
        [0, 0, 1],
      ],
    ],
  );
  disposeFeatures(fields);
  const users = featureFields([{ job: 'cook' }, { job: 'cook' }, { job: 'pilot' }, {}], 'values');
  assert.deepEqual(users[0]?.x.arraySync(), [[1], [1], [0], [0]]);
  disposeFeatures(users);
});

test('a synthetic dataset in the generic layout loads as documented', async (t) => {
  const w = writeSynthetic('shop');
  const ds = loadDataset(w.dir, { dataDir: DATA, text: 'llm' });
  await t.test("items are numbered in file order, with their features and text; the name is the directory's", () => {
    assert.equal(ds.name, 'shop');
    assert.equal(ds.items.length, PER_ITEM.length);
    assert.equal(ds.items[7]!.id, 'sku-007');
    const tags = ds.items[3]!.features.tags;
    assert.ok(Array.isArray(tags) && tags[0] === 'sport', String(tags));
    assert.equal(typeof ds.items[3]!.features.price, 'number');
    assert.equal(ds.items[5]!.features.price, undefined);
    assert.deepEqual(ds.items[3]!.text, { blurb: 'a story about sport, told twice' });
    assert.equal(ds.items[4]!.text, null);
  });
  await t.test('interactions: numbers, labels from rating ≥ 4, one time whatever the spelling, order = line order', () => {
    assert.equal(ds.interactions.length, w.rows.length);
    ds.interactions.forEach((r, i) => {
      const want = w.rows[i]!; // one written row per interaction
      assert.equal(r.order, i);
      assert.equal(r.ts, want.ts, `line ${i + 2}`);
      assert.equal(r.label, want.label);
      assert.equal(ds.items[r.item - 1]!.id, want.item);
      assert.equal(ds.users[r.user - 1]!.id, want.user);
    });
  });
  await t.test('users: users.csv in file order, then the others in order of first appearance; quoted values stay strings', () => {
    assert.deepEqual(
      ds.users.slice(0, IN_USERS_CSV).map((u) => u.id),
      Array.from({ length: IN_USERS_CSV }, (_, i) => `u${i}`),
    );
    const later = [...new Set(w.rows.map((r) => r.user))].filter((u) => Number(u.slice(1)) >= IN_USERS_CSV);
    assert.deepEqual(
      ds.users.slice(IN_USERS_CSV).map((u) => u.id),
      later,
    );
    assert.deepEqual(ds.users[1]!.features, { age: 25, segment: 'b', zip: '01001' });
    assert.deepEqual(ds.users.at(-1)!.features, {});
  });
  await t.test('text "none" drops the items\' text; --positive moves the labels', () => {
    assert.ok(loadDataset(w.dir, { dataDir: DATA, text: 'none' }).items.every((it) => it.text === null));
    const strict = loadDataset(w.dir, { dataDir: DATA, text: 'none', positive: 5 });
    const pos = (d: typeof ds) => d.interactions.filter((r) => r.label === 1).length;
    assert.ok(pos(strict) > 0 && pos(strict) < pos(ds), `${pos(strict)} vs ${pos(ds)}`);
  });
});

/**
 * A quick run on the synthetic dataset: every item threshold scaled down to its size. The dot run checks
 * what is learnt, so its backbone trains to a good fit (20 full-batch Adam steps: the 2,000 ratings
 * in one batch, a larger step), MetaEmb a whole meta-epoch and EmerFlow's aligner three epochs.
 */
const SYNTH: Omit<EvalOptions, 'methods' | 'dataset'> = {
  ...SLICE,
  hotThreshold: 60,
  k: 5,
  maxEmerging: undefined,
  baseStride: undefined,
  backboneOpts: { epochs: 20, batch: 2048, lr: 0.1 },
  metaEpochs: 1,
  emerflow: { hyper: { ...SLICE.emerflow?.hyper, alignEpochs: 3 } },
};

/** The DeepFM runs only have to run: one epoch, every 4th established rating (25 per item), DeepFM's quick EmerFlow. */
const SYNTH_DEEPFM: Omit<EvalOptions, 'methods' | 'dataset'> = {
  ...SYNTH,
  backbone: 'deepfm',
  baseStride: 4,
  backboneOpts: { epochs: 1 },
  emerflow: DEEPFM_EMERFLOW,
};

function assertScores(r: EvalResults, methods: readonly string[]): void {
  assert.deepEqual(r.errors, {});
  assert.deepEqual(
    r.results.map((x) => `${x.method} ${x.stage}`),
    methods.flatMap((m) => STAGES.map((s) => `${m} ${s}`)),
  );
  for (const row of r.results) assert.ok(Number.isFinite(row.auc) && row.auc >= 0 && row.auc <= 1, `${row.method} ${row.stage} ${row.auc}`);
  assert.ok(Number.isFinite(r.oracle.auc));
}

test('the whole evaluation runs on the synthetic dataset: every method and stage, dot backbone', { timeout: 60_000 }, async () => {
  const w = writeSynthetic('shop-dot');
  const r = await runEval({ ...SYNTH, dataset: w.dir, methods: [...ALL_METHODS] });
  assert.equal(r.dataset, basename(w.dir));
  assertScores(r, ALL_METHODS);
  const emerging = PER_ITEM.map((n, j) => [n, j] as const).filter(([n]) => n >= 15 && n <= 60);
  assert.deepEqual(r.counts, {
    established: 20,
    emerging: 16,
    dropped: 4,
    trainBase: 20 * 100,
    warm: [16 * 5, 16 * 5, 16 * 5],
    test: emerging.reduce((a, [n]) => a + n - 15, 0),
    emergingWithText: emerging.filter(([, j]) => HAS_TEXT(j)).length,
  });
  // the kinds are learnable: with the warm ratings in training, the backbone ranks test ratings well
  assert.ok(r.oracle.auc > 0.6, `oracle ${r.oracle.auc}`);
  // and the features reach the methods: cold, before any rating of its own, an item is placed by them
  for (const m of ['metaemb', 'cvar', 'emerflow']) {
    const cold = r.results.find((x) => x.method === m && x.stage === 'cold')!.auc; // one row per method and stage (assertScores)
    assert.ok(cold > 0.6, `${m} cold ${cold}`);
  }
});

test('the deepfm backbone runs on it with users.csv features, and without users.csv', { timeout: 60_000 }, async () => {
  const methods = ['base', 'cvar', 'emerflow'] as const;
  for (const withUsers of [true, false]) {
    const w = writeSynthetic(withUsers ? 'shop-deepfm' : 'shop-no-users', withUsers);
    const r = await runEval({ ...SYNTH_DEEPFM, dataset: w.dir, methods: [...methods] });
    assertScores(r, methods);
  }
});

test('bad files name the file, line and column', async (t) => {
  const ITEMS = ['{"id": "a", "features": {"t": "x"}}', '{"id": "b", "features": {}}', '{"id": "c", "features": {"tags": ["y"]}}'];
  const HEAD = 'user,item,label,ts';
  const cases: { name: string; files: Record<string, string[]>; error: string }[] = [
    {
      name: 'a label that is not 0 or 1',
      files: { 'interactions.csv': [HEAD, ...Array.from({ length: 15 }, (_, i) => `u${i},a,1,${i}`), 'u1,a,x,10'] },
      error: 'interactions.csv:17:3: label must be 0 or 1, got "x"',
    },
    {
      name: 'a JSON syntax error JSON.parse gives no position for',
      files: { 'items.jsonl': [...ITEMS, '{"feature":@}'] },
      error: `items.jsonl:4:12: Unexpected token '@', "{"feature":@}" is not valid JSON`,
    },
    {
      name: 'a JSON syntax error at the position JSON.parse names',
      files: { 'items.jsonl': [...ITEMS, '{"id": "d", "features": {},}'] },
      error: 'items.jsonl:4:28: Expected double-quoted property name',
    },
    {
      name: 'a line cut short',
      files: { 'items.jsonl': ['{"id": "d"'] },
      error: "items.jsonl:1:11: Expected ',' or '}' after property value",
    },
    {
      name: 'a duplicate item id',
      files: { 'items.jsonl': [ITEMS[0]!, '', '{"id": "a", "features": {}}'] },
      error: 'items.jsonl:3:8: duplicate item id "a" (first on line 1)',
    },
    {
      name: 'an interaction naming an item not in items.jsonl',
      files: { 'interactions.csv': [HEAD, 'u1,a,1,10', 'u1,zz,1,10'] },
      error: 'interactions.csv:3:2: item "zz" is not in items.jsonl',
    },
    {
      name: 'a missing required column',
      files: { 'interactions.csv': ['user,item,label', 'u1,a,1'] },
      error: 'interactions.csv:1:1: missing column "ts" (header: user,item,label)',
    },
    {
      name: 'neither label nor rating',
      files: { 'interactions.csv': ['user,item,ts', 'u1,a,1'] },
      error: 'interactions.csv:1:1: missing column "label" or "rating" (header: user,item,ts)',
    },
    {
      name: 'a feature that is a boolean',
      files: { 'items.jsonl': ['{"id": "c", "features": {"n": true}}'] },
      error: 'items.jsonl:1:31: feature "n" must be a string, a number or a list of strings, got true',
    },
    {
      name: 'a list feature holding a number',
      files: { 'items.jsonl': ['{"id": "c", "features": {"tags": ["x", 2]}}'] },
      error: 'items.jsonl:1:34: feature "tags" must be a string, a number or a list of strings, got ["x",2]',
    },
    {
      name: 'a nested feature object',
      files: { 'items.jsonl': ['{"id": "c", "features": {"a": 1, "b": {"c": 2}}}'] },
      error: 'items.jsonl:1:39: feature "b" must be a string, a number or a list of strings, got {"c":2}',
    },
    {
      name: 'an item that is not an object',
      files: { 'items.jsonl': ['["c"]'] },
      error: 'items.jsonl:1:1: an item must be a JSON object {"id", "features", "text"?}, got ["c"]',
    },
    {
      name: 'an item without an id',
      files: { 'items.jsonl': ['{"features": {}}'] },
      error: 'items.jsonl:1:1: "id" must be a non-empty string, got nothing',
    },
    {
      name: 'text that is not strings',
      files: { 'items.jsonl': ['{"id": "a", "features": {}, "text": {"blurb": 3}}'] },
      error: 'items.jsonl:1:47: text "blurb" must be a string, got 3',
    },
    {
      name: 'a time that is neither Unix seconds nor ISO 8601',
      files: { 'interactions.csv': [HEAD, 'u1,a,1,yesterday'] },
      error: 'interactions.csv:2:4: ts must be Unix seconds or an ISO 8601 time, got "yesterday"',
    },
    {
      name: 'a rating that is not a number',
      files: { 'interactions.csv': ['user,item,rating,ts', 'u1,a,five,10'] },
      error: 'interactions.csv:2:3: rating must be a number, got "five"',
    },
    {
      name: 'a row with a field missing',
      files: { 'interactions.csv': [HEAD, 'u1,a,1'] },
      error: 'interactions.csv:2:4: expected 4 fields as in the header, got 3',
    },
    {
      name: 'an unterminated quote',
      files: { 'interactions.csv': [HEAD, 'u1,a,1,1', 'u1,"a,1,10'] },
      error: 'interactions.csv:3:2: unterminated quoted field',
    },
    {
      name: 'lines counted across a quoted newline',
      files: { 'interactions.csv': ['user,item,note,label,ts', 'u1,a,"two', 'lines",1,1', 'u1,b,x,2,1'] },
      error: 'interactions.csv:4:4: label must be 0 or 1, got "2"',
    },
    {
      name: 'a duplicate user in users.csv',
      files: { 'users.csv': ['user,age', 'u1,3', 'u1,4'] },
      error: 'users.csv:3:1: duplicate user id "u1" (first on line 2)',
    },
    {
      name: 'users.csv without a user column',
      files: { 'users.csv': ['id,age', 'u1,3'] },
      error: 'users.csv:1:1: missing column "user" (header: id,age)',
    },
  ];
  for (const c of cases) {
    await t.test(c.name, () => {
      const dir = mkdtempSync(join(tmp, 'bad-'));
      const files: Record<string, string[]> = { 'items.jsonl': ITEMS, 'interactions.csv': [HEAD, 'u1,a,1,10'], ...c.files };
      for (const [f, lines] of Object.entries(files)) writeFileSync(join(dir, f), `${lines.join('\n')}\n`);
      const [file, line, column] = c.error.split(':');
      assert.throws(
        () => loadDataset(dir, { dataDir: DATA, text: 'llm' }),
        (e: unknown) => {
          assert.ok(e instanceof DatasetError, String(e));
          assert.equal(e.message, `${dir}/${c.error}`);
          assert.deepEqual([e.file, e.line, e.column], [join(dir, file!), Number(line), Number(column)]); // the message has three ':'s
          return true;
        },
      );
    });
  }
});

/** The export CLI of the code under test: its compiled copy when this file runs compiled, else the source through tsx. */
const EXPORT_CLI = entryArgs('src/eval/dataset/export-cli.ts');

dataTest('ml-100k exported by the CLI and read back: the same dataset, the same evaluation', { timeout: 90_000 }, async (t) => {
  const out = join(tmp, 'export', 'ml-100k');
  const cli = spawnSync(process.execPath, [...EXPORT_CLI, 'ml-100k', '--out', out, '--data', DATA], { encoding: 'utf8' });
  assert.equal(cli.status, 0, cli.stderr);
  assert.match(cli.stdout, /1682 items \(\d+ with text\), 943 users, 100000 interactions/);
  await t.test('deep-equal datasets: ids, numbers, orders, labels, features, text', () => {
    for (const text of ['llm', 'none'] as const)
      assert.deepStrictEqual(loadDataset(out, { dataDir: DATA, text }), loadDataset('ml-100k', { dataDir: DATA, text }), text);
  });
  // The deep equality above is what proves the copy is the same dataset, its text included. The runs below add
  // that the evaluation reads nothing but the loaded dataset, not where it came from: they run every method on
  // the smallest slice and without the LLM text, which the deep equality covers (with it, EmerFlow's encoder
  // would be fitted on the same 1,682 paragraphs four times over).
  await t.test('every method and stage scores the same on the built-in and the exported copy', async () => {
    const run = (dataset: string) => runEval({ ...SLICE, text: 'none', dataset, methods: [...ALL_METHODS] });
    const a = await run('ml-100k');
    const b = await run(out);
    const same = (r: EvalResults) => ({ ...r, backend: '', seconds: 0, methodSeconds: {} });
    assert.deepEqual(a.errors, {});
    assert.deepStrictEqual(same(b), same(a));
  });
});
