import { test } from 'node:test';
import assert from 'node:assert/strict';
import { serializeFeatures, fitHashedTfidf, encoderFromState, encoderIdOf } from '../../src/model/index.js';

test('serializeFeatures: stable order, flattened, enrichment last', () => {
  const a = serializeFeatures({ title: 'Heat', genres: ['Action', 'Crime'], year: 1995 }, { director: 'Michael Mann', cast: { lead: 'Al Pacino' } });
  const b = serializeFeatures({ year: 1995, genres: ['Action', 'Crime'], title: 'Heat' }, { cast: { lead: 'Al Pacino' }, director: 'Michael Mann' });
  assert.equal(a, b);
  assert.equal(a, 'genres: Action, Crime\ntitle: Heat\nyear: 1995\ncast: lead: Al Pacino\ndirector: Michael Mann');
  assert.equal(serializeFeatures({ note: 'two\nlines', empty: null, none: [] }), 'note: two lines');
});

const corpus = [
  'title: Heat\ngenres: Action, Crime\ndirector: Michael Mann',
  'title: Collateral\ngenres: Action, Crime, Drama\ndirector: Michael Mann',
  'title: Toy Story\ngenres: Animation, Comedy\ndirector: John Lasseter',
  'title: A Bug\'s Life\ngenres: Animation, Comedy\ndirector: John Lasseter',
  'title: Casino\ngenres: Crime, Drama\ndirector: Martin Scorsese',
  'title: Jumanji\ngenres: Adventure, Comedy\ndirector: Joe Johnston',
];

const cos = (a: Float32Array, b: Float32Array) => a.reduce((s, x, i) => s + x * b[i]!, 0);

test('hashed TF-IDF: unit vectors, deterministic, rare shared names weigh more than common words', async () => {
  const enc = fitHashedTfidf(corpus, { dim: 256 });
  assert.equal(enc.id.name, 'hashed-tfidf');
  assert.equal(enc.id.dim, 256);
  const [heat, collateral, casino] = await enc.encode([corpus[0]!, corpus[1]!, corpus[4]!]);
  assert.ok(Math.abs(cos(heat!, heat!) - 1) < 1e-5);
  // Heat and Collateral share a director (rare); Heat and Casino share only "Crime" (common).
  assert.ok(cos(heat!, collateral!) > cos(heat!, casino!));
  const again = fitHashedTfidf([...corpus].reverse(), { dim: 256 });
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
