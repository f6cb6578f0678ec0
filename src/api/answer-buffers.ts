// Buffers for the fast lanes' packed answers, used again once sent. A packed answer of 100
// ids at dim 64 is 25 KB: made fresh for each request it was a new ArrayBuffer outside the
// V8 heap (malloc'd, then freed by a later garbage collection) whose first writes missed
// every cache; a buffer just sent is still in the cache, and nothing is allocated.
//
// A buffer is given back only on the response's 'finish' (its bytes handed to the kernel:
// nothing reads it after), never on an error or a close, when a write may still hold it.
// What is kept is bounded: buffers of up to MAX_BYTES, KEEP of each size, KEPT_BYTES in all.

const MAX_BYTES = 256 * 1024;
const KEEP = 64;
const KEPT_BYTES = 8 * 1024 * 1024;

/** Kept buffers by their length (a ranker asks for the same number of ids again and again). */
const kept = new Map<number, Buffer[]>();
let keptBytes = 0;

/**
 * A buffer of `bytes` (its contents are whatever was there), of its own ArrayBuffer (not a
 * slice of Node's pool), so that a Float32Array over it is aligned.
 */
export function takeBuffer(bytes: number): Buffer {
  const b = kept.get(bytes)?.pop();
  if (b === undefined) return Buffer.allocUnsafeSlow(bytes);
  keptBytes -= bytes;
  return b;
}

/** Gives `b` back once it is sent: call from the response's 'finish'. */
export function giveBack(b: Buffer): void {
  if (b.length > MAX_BYTES || keptBytes + b.length > KEPT_BYTES) return;
  let list = kept.get(b.length);
  if (!list) kept.set(b.length, (list = []));
  if (list.length >= KEEP) return;
  list.push(b);
  keptBytes += b.length;
}
