// The packed answers' buffers (src/api/answer-buffers.ts): reused only once given back, and
// what is kept stays bounded.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { giveBack, takeBuffer } from '../../src/api/answer-buffers.js';

test('answer buffers: a buffer is handed out again only after it is given back', () => {
  const a = takeBuffer(4096);
  const b = takeBuffer(4096);
  assert.notEqual(a.buffer, b.buffer, 'two taken at once are two');
  assert.equal(a.byteOffset, 0, 'of its own ArrayBuffer (a Float32Array over it is aligned)');
  assert.equal(a.buffer.byteLength, 4096);
  giveBack(a);
  assert.equal(takeBuffer(4096), a, 'given back, it is used again');
  assert.notEqual(takeBuffer(4096), a, 'and once taken, not handed out twice');
  assert.notEqual(takeBuffer(2048), b, 'a buffer serves its own length only');
});

test('answer buffers: large buffers and more than the bound are not kept', () => {
  const big = takeBuffer(1024 * 1024);
  giveBack(big);
  assert.notEqual(takeBuffer(1024 * 1024), big, 'a 1 MiB answer is left to the collector');
  const many = Array.from({ length: 100 }, () => takeBuffer(1000));
  for (const b of many) giveBack(b);
  const again = new Set(Array.from({ length: 100 }, () => takeBuffer(1000)));
  const reused = many.filter((b) => again.has(b)).length;
  assert.ok(reused > 0 && reused < 100, `some kept, not all (${reused} of 100)`);
});
