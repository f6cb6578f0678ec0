import { test } from 'node:test';
import assert from 'node:assert/strict';
import { serializeFeatures, fitHashedTfidf, encoderFromState, encoderIdOf } from '../../src/model/index.js';

test('serializeFeatures: stable order, flattened, enrichment last', () => {
  const a = serializeFeatures(
    { title: 'Heat', genres: ['Action', 'Crime'], year: 1995 },
    { director: 'Michael Mann', cast: { lead: 'Al Pacino' } },
  );
  const b = serializeFeatures(
    { year: 1995, genres: ['Action', 'Crime'], title: 'Heat' },
    { cast: { lead: 'Al Pacino' }, director: 'Michael Mann' },
  );
  assert.equal(a, b);
  assert.equal(a, 'genres: Action, Crime\ntitle: Heat\nyear: 1995\ncast: lead: Al Pacino\ndirector: Michael Mann');
  assert.equal(serializeFeatures({ note: 'two\nlines', empty: null, none: [] }), 'note: two lines');
});

const corpus = [
  'title: Heat\ngenres: Action, Crime\ndirector: Michael Mann',
  'title: Collateral\ngenres: Action, Crime, Drama\ndirector: Michael Mann',
  'title: Toy Story\ngenres: Animation, Comedy\ndirector: John Lasseter',
  "title: A Bug's Life\ngenres: Animation, Comedy\ndirector: John Lasseter",
  'title: Casino\ngenres: Crime, Drama\ndirector: Martin Scorsese',
  'title: Jumanji\ngenres: Adventure, Comedy\ndirector: Joe Johnston',
];

const cos = (a: Float32Array, b: Float32Array) => a.reduce((s, x, i) => s + x * b[i]!, 0);

test('hashed TF-IDF: unit vectors, deterministic, rare shared names weigh more than common words', async () => {
  const enc = fitHashedTfidf(corpus, { dim: 256, categorical: false });
  assert.equal(enc.id.name, 'hashed-tfidf');
  assert.equal(enc.id.dim, 256);
  const [heat, collateral, casino] = await enc.encode([corpus[0]!, corpus[1]!, corpus[4]!]);
  assert.ok(Math.abs(cos(heat!, heat!) - 1) < 1e-5);
  // Heat and Collateral share a director (rare); Heat and Casino share only "Crime" (common).
  assert.ok(cos(heat!, collateral!) > cos(heat!, casino!));
  const again = fitHashedTfidf([...corpus].reverse(), { dim: 256, categorical: false });
  assert.deepEqual(again.id, enc.id, 'fitted state must not depend on input order');
});

test('encoder state survives JSON and keeps its identity', async () => {
  const enc = fitHashedTfidf(corpus, { dim: 128 });
  const state = JSON.parse(JSON.stringify(enc.state()));
  const back = encoderFromState(state)!;
  assert.deepEqual(back.id, enc.id);
  assert.deepEqual(encoderIdOf(state), enc.id);
  assert.deepEqual(await back.encode(['title: Heat']), await enc.encode(['title: Heat']));
  const other = fitHashedTfidf(corpus.slice(0, 3), { dim: 128 });
  assert.notEqual(other.id.version, enc.id.version, 'different fits are different encoders');
  assert.equal(encoderFromState({ kind: 'external', id: { name: 'x', dim: 3, version: '1' } }), null);
});

// A catalogue with a short list field (genres), a numeric one (year), free text
// and unique titles: only genres and year become the structured channel.
const words = ['alpha', 'bravo', 'charlie', 'delta', 'echo', 'foxtrot', 'golf', 'hotel', 'india', 'juliet', 'kilo', 'lima'];
const genres = ['Action', 'Comedy', 'Drama', 'Horror', 'Science Fiction'];
const catalogue = Array.from({ length: 40 }, (_, i) =>
  serializeFeatures(
    {
      title: `${words[i % 12]} ${words[(i * 5 + 3) % 12]} ${i}`,
      genres: [genres[i % 5], genres[(i * 3 + 1) % 5]],
      year: i % 9 === 0 ? 'unknown' : 1950 + i,
    },
    {
      description:
        `${words[(i * 7) % 12]} meets ${words[(i * 11 + 2) % 12]} ` + `in a long story about ${words[i % 12]} and many more words here`,
    },
  ),
);

test('structured channel: list and numeric fields get a normalised one-/multi-hot part that survives the state', async (t) => {
  const enc = fitHashedTfidf(catalogue, { dim: 128 });
  const state = enc.state();
  const tail = (v: Float32Array) => v.subarray(128);
  const norm = (v: Float32Array) => Math.sqrt(v.reduce((s, x) => s + x * x, 0));
  await t.test('genres become a values field, year a numeric one; titles and free text do not', () => {
    assert.equal(state.kind, 'hashed-tfidf');
    const cat = state.kind === 'hashed-tfidf' ? state.categorical : undefined;
    assert.ok(cat, 'a structured channel is fitted');
    assert.deepEqual(
      cat.fields.map((f) => [f.name, f.kind]),
      [
        ['genres', 'values'],
        ['year', 'numeric'],
      ],
    );
    const g = cat.fields[0]!;
    assert.ok(g.kind === 'values' && g.values.includes('science fiction') && g.values.length === 5);
    const size = enc.id.dim - 128;
    assert.ok(size > 5 + 3, `channel size ${size}`);
  });
  await t.test('the TF-IDF part stays unit-norm, the channel has norm = weight, shared genres are closer', () => {
    const [a, b, c] = enc.encodeSync([catalogue[0]!, catalogue[5]!, catalogue[1]!]);
    assert.ok(Math.abs(norm(a!.subarray(0, 128)) - 1) < 1e-5, 'TF-IDF part stays unit-norm');
    assert.ok(Math.abs(norm(tail(a!)) - 2) < 1e-5, 'channel has norm = weight');
    // items 0 and 5 share both genres (Action, Comedy); 0 and 1 share none
    assert.ok(cos(tail(a!), tail(b!)) > cos(tail(a!), tail(c!)));
  });
  await t.test('round trip through JSON: same identity, same vectors; a new item encodes with the fitted vocabulary', async () => {
    const back = encoderFromState(JSON.parse(JSON.stringify(state)))!;
    assert.deepEqual(back.id, enc.id);
    assert.deepEqual(encoderIdOf(state), enc.id);
    const fresh = serializeFeatures({ title: 'Brand New', genres: ['Horror', 'Western'], year: 2031 });
    assert.deepEqual(await back.encode([fresh, catalogue[3]!]), await enc.encode([fresh, catalogue[3]!]));
    assert.ok(norm(tail(back.encodeSync([fresh])[0]!)) > 1.9, 'known genre and an out-of-range year still hit the channel');
  });
  await t.test('off: the plain TF-IDF encoder, with the original identity scheme', () => {
    const off = fitHashedTfidf(catalogue, { dim: 128, categorical: false });
    assert.equal(off.id.dim, 128);
    assert.match(off.id.version, /^1-/);
  });
});

test('a state stored before the structured channel still encodes as it did', () => {
  const enc = fitHashedTfidf(catalogue, { dim: 64 });
  const { categorical: _drop, ...old } = enc.state() as Extract<ReturnType<typeof enc.state>, { kind: 'hashed-tfidf' }>;
  const back = encoderFromState(old)!;
  assert.equal(back.id.dim, 64);
  assert.match(back.id.version, /^1-/);
  assert.deepEqual(back.encodeSync([catalogue[2]!])[0], enc.encodeSync([catalogue[2]!])[0]!.slice(0, 64));
});
