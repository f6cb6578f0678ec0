// The lookup body, `{"ids":["…",…]}`, read without JSON.parse when it has that plain shape.
// JSON.parse internalises every short string value: each id is looked up in V8's string
// table, whose size grows with everything the process holds, and at 100 ids a request that
// was a quarter of a cached float32 lookup's CPU (7 µs a parse with a small table, 25-37 µs
// in a process the size of the service's). Ids taken here are plain slices of the body.
//
// Only what JSON.parse would read the same is taken: ids without escapes or control
// characters, JSON whitespace between tokens, the one key. Anything else (escapes, other keys,
// numbers, a truncated body) returns undefined and goes to the generic parser, which gives
// its answer and its errors; the route's schema then checks the ids either way.

const isSpace = (c: number) => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;

/** { ids } from a body of the plain shape, or undefined for the generic parser. */
export function scanLookupBody(s: string): { ids: string[] } | undefined {
  const n = s.length;
  let i = 0;
  const skip = () => {
    while (i < n && isSpace(s.charCodeAt(i))) i++;
  };
  const expect = (c: number) => {
    skip();
    if (s.charCodeAt(i) !== c) return false;
    i++;
    return true;
  };
  if (!expect(0x7b /* { */) || !expect(0x22 /* " */) || !s.startsWith('ids"', i)) return undefined;
  i += 4;
  if (!expect(0x3a /* : */) || !expect(0x5b /* [ */)) return undefined;
  const ids: string[] = [];
  skip();
  if (s.charCodeAt(i) === 0x5d /* ] */) i++;
  else
    for (;;) {
      if (s.charCodeAt(i) !== 0x22) return undefined;
      const from = ++i;
      for (let c = s.charCodeAt(i); c !== 0x22; c = s.charCodeAt(++i)) {
        // an escape, a control character (JSON.parse refuses it) or the end (NaN)
        if (!(c >= 0x20) || c === 0x5c /* \ */) return undefined;
      }
      ids.push(s.slice(from, i++));
      skip();
      const c = s.charCodeAt(i++);
      if (c === 0x5d) break;
      if (c !== 0x2c /* , */) return undefined;
      skip();
    }
  if (!expect(0x7d /* } */)) return undefined;
  skip();
  return i === n ? { ids } : undefined;
}
