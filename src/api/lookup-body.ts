// The lookup body, `{"ids":["…",…]}`, read without JSON.parse when it has that plain shape.
// JSON.parse internalises every short string value: each id is looked up in V8's string
// table, whose size grows with everything the process holds, and at 100 ids a request that
// was a quarter of a cached float32 lookup's CPU (7 µs a parse with a small table, 25-37 µs
// in a process the size of the service's). Ids taken here are plain slices of the body, or
// (scanLookupSpans, for the fast lane) only where they are in it.
//
// Only what JSON.parse would read the same is taken: ids without escapes or control
// characters, JSON whitespace between tokens, the one key. Anything else (escapes, other keys,
// numbers, a truncated body) returns undefined and goes to the generic parser, which gives
// its answer and its errors; the route's schema then checks the ids either way.

const isSpace = (c: number) => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;

/** The index of the first non-whitespace character from i. */
function skipSpace(s: string, i: number): number {
  while (i < s.length && isSpace(s.charCodeAt(i))) i++;
  return i;
}

/** The index past `c` when it is the next character after whitespace, else -1. */
function past(s: string, i: number, c: number): number {
  i = skipSpace(s, i);
  return s.charCodeAt(i) === c ? i + 1 : -1;
}

/**
 * Where the ids of a body of the plain shape are, or undefined for the generic parser: id k
 * is s[spans[2k], spans[2k + 1]). (The index is a local threaded through plain functions, not
 * a variable closures share: V8 keeps a shared one in a context object, and the scan ran 5×
 * slower.)
 */
export function scanLookupSpans(s: string): number[] | undefined {
  const n = s.length;
  let i = past(s, 0, 0x7b /* { */);
  if (i < 0 || (i = past(s, i, 0x22 /* " */)) < 0 || !s.startsWith('ids"', i)) return undefined;
  if ((i = past(s, i + 4, 0x3a /* : */)) < 0 || (i = past(s, i, 0x5b /* [ */)) < 0) return undefined;
  const spans: number[] = [];
  i = skipSpace(s, i);
  if (s.charCodeAt(i) === 0x5d /* ] */) i++;
  else
    for (;;) {
      if (s.charCodeAt(i) !== 0x22) return undefined;
      const from = ++i;
      for (let c = s.charCodeAt(i); c !== 0x22; c = s.charCodeAt(++i)) {
        // an escape, a control character (JSON.parse refuses it) or the end (NaN)
        if (!(c >= 0x20) || c === 0x5c /* \ */) return undefined;
      }
      spans.push(from, i++);
      i = skipSpace(s, i);
      const c = s.charCodeAt(i++);
      if (c === 0x5d) break;
      if (c !== 0x2c /* , */) return undefined;
      i = skipSpace(s, i);
    }
  if ((i = past(s, i, 0x7d /* } */)) < 0) return undefined;
  return skipSpace(s, i) === n ? spans : undefined;
}

/** The ids at `spans` (scanLookupSpans) of s. */
export function idsAt(s: string, spans: readonly number[]): string[] {
  const ids = new Array<string>(spans.length >> 1);
  for (let k = 0; k < ids.length; k++) ids[k] = s.slice(spans[2 * k], spans[2 * k + 1]);
  return ids;
}

/** { ids } from a body of the plain shape, or undefined for the generic parser. */
export function scanLookupBody(s: string): { ids: string[] } | undefined {
  const spans = scanLookupSpans(s);
  return spans && { ids: idsAt(s, spans) };
}
