// The lookup body's own reader (src/api/lookup-body.ts) must read a body as JSON.parse does
// or leave it to the generic parser: never a different answer, never a different error.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { scanLookupBody } from '../../src/api/lookup-body.js';
import { startTestService } from '../support/service.js';
import { seedSpace } from '../support/space.js';
import { mulberry32 } from '../../src/model/prng.js';

/** JSON.parse's reading, or 'throws'. */
const parsed = (s: string): unknown => {
  try {
    return JSON.parse(s) as unknown;
  } catch {
    return 'throws';
  }
};

test('lookup body: the plain shape is read without JSON.parse, with the same ids', () => {
  for (const s of [
    '{"ids":["a","b","c"]}',
    '{"ids":[]}',
    ' \n{ "ids" : [ "m1" ,\t"m 2", "é€😀" ] }\r\n',
    `{"ids":[${Array.from({ length: 1000 }, (_, i) => `"item-${i}"`).join(',')}]}`,
    '{"ids":[""]}',
  ]) {
    const got = scanLookupBody(s);
    assert.ok(got, `read: ${s.slice(0, 60)}`);
    assert.deepEqual(got, parsed(s));
  }
});

test('lookup body: anything else is left to the generic parser', () => {
  for (const s of [
    '',
    '{}',
    '{"ids":["a\\"b"]}', // an escape
    '{"ids":["a\\u0041"]}',
    '{"ids":["a\u0001"]}', // a control character: JSON.parse refuses it
    '{"ids":["a",]}',
    '{"ids":["a"],}',
    '{"ids":["a"],"x":1}',
    '{"ids":[1,2]}',
    '{"ids":["a"]',
    '{"ids":["a',
    '{"ids":"a"}',
    '{"idsx":["a"]}',
    '{"__proto__":{"ids":["a"]}}',
    '{"ids":["a"]}x',
    '["a"]',
    'null',
  ])
    assert.equal(scanLookupBody(s), undefined, `left alone: ${JSON.stringify(s)}`);
});

test('lookup body: random bodies near the plain shape read as JSON.parse reads them, or are left alone', () => {
  const r = mulberry32(7);
  const pieces = ['{', '}', '[', ']', '"', ',', ':', ' ', '\n', 'ids', '"ids"', 'a', '\\', '\\"', '1', 'é', '\u0000', 'null'];
  let read = 0;
  for (let n = 0; n < 20_000; n++) {
    // a plain body with a few pieces changed, inserted or dropped
    const ids = Array.from({ length: Math.floor(r() * 4) }, (_, i) => `"i${i}"`);
    let s = `{"ids":[${ids.join(',')}]}`;
    for (let k = Math.floor(r() * 3); k > 0; k--) {
      const at = Math.floor(r() * (s.length + 1));
      const op = r();
      const piece = pieces[Math.floor(r() * pieces.length)]!;
      s =
        op < 0.4
          ? s.slice(0, at) + piece + s.slice(at)
          : op < 0.7
            ? s.slice(0, at) + s.slice(at + 1)
            : s.slice(0, at) + piece + s.slice(at + 1);
    }
    const got = scanLookupBody(s);
    if (got === undefined) continue;
    read++;
    assert.deepEqual(got, parsed(s), `the same reading of ${JSON.stringify(s)}`);
  }
  assert.ok(read > 1000, `most of the plain bodies were read (${read})`);
});

test('lookup route: plain, spaced and escaped bodies find the same embeddings; a broken body is a 400', async (t) => {
  const service = await startTestService(t);
  const app = service.http;
  const world = await seedSpace(app, { train: false });
  const ids = world.items.slice(0, 3).map((i) => i.id);
  const ask = (payload: string) =>
    app.inject({ method: 'POST', url: '/v1/spaces/movies/embeddings/lookup', payload, headers: { 'content-type': 'application/json' } });
  const plain = await ask(JSON.stringify({ ids: [...ids, 'nope'] }));
  assert.equal(plain.statusCode, 200, plain.body);
  const spaced = await ask(`{ "ids" : [ ${[...ids, 'nope'].map((id) => JSON.stringify(id)).join(' , ')} ] }`);
  // the same ids written with escapes: the generic parser's reading
  const escapedId = (id: string) => `"${[...id].map((c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`).join('')}"`;
  const escaped = await ask(`{"ids":[${[...ids, 'nope'].map(escapedId).join(',')}]}`);
  for (const r of [spaced, escaped]) {
    assert.equal(r.statusCode, 200, r.body);
    assert.deepEqual(r.json(), plain.json());
  }
  const answer = plain.json<{ embeddings: { id: string }[]; missing: string[] }>();
  assert.deepEqual(
    answer.embeddings.map((e) => e.id),
    ids,
  );
  assert.deepEqual(answer.missing, ['nope']);
  for (const broken of ['{"ids":["a"', '{"ids":["a"],"extra":1}', '{"ids":[1]}']) {
    const r = await ask(broken);
    assert.equal(r.statusCode, 400, `${broken}: ${r.body}`);
  }
});
