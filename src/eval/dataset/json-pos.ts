// Where in one line of JSON something is, for error columns: JSON.parse names the position of some
// syntax errors but not of others ("Unexpected token …"), and never of a value that parsed fine but
// is not allowed (a feature that is `true`). Run only on the error path; the values come from JSON.parse.

class Stop {
  constructor(
    readonly offset: number,
    readonly found: boolean,
  ) {}
}

const NUM = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const HEX4 = /^[0-9a-fA-F]{4}$/;

/** Walks `src` as JSON; stops at the value under `want` (object keys and array indexes) or at the first error. */
function walk(src: string, want: readonly string[] | null): Stop | null {
  let i = 0;
  const bad = (): never => {
    throw new Stop(i, false);
  };
  const ws = () => {
    while (src[i] === ' ' || src[i] === '\t' || src[i] === '\n' || src[i] === '\r') i++;
  };
  const str = (): string => {
    const start = i++;
    for (;;) {
      const c = src.charCodeAt(i);
      if (Number.isNaN(c) || c < 0x20) bad();
      if (c === 0x22) break;
      if (c !== 0x5c) i++;
      else if (src[i + 1] === 'u') {
        i++;
        if (!HEX4.test(src.slice(i + 1, i + 5))) bad();
        i += 5;
      } else if ('"\\/bfnrt'.includes(src[i + 1] ?? 'x')) i += 2;
      else {
        i++;
        bad();
      }
    }
    i++;
    return JSON.parse(src.slice(start, i)) as string;
  };
  const value = (path: string[]): void => {
    ws();
    if (want && path.length === want.length && path.every((k, j) => k === want[j])) throw new Stop(i, true);
    const c = src[i];
    if (c === '{' || c === '[') {
      const close = c === '{' ? '}' : ']';
      i++;
      ws();
      if (src[i] === close) {
        i++;
        return;
      }
      for (let n = 0; ; n++) {
        let key = String(n);
        if (c === '{') {
          ws();
          if (src[i] !== '"') bad();
          key = str();
          ws();
          if (src[i] !== ':') bad();
          i++;
        }
        value([...path, key]);
        ws();
        if (src[i] === close) {
          i++;
          return;
        }
        if (src[i] !== ',') bad();
        i++;
      }
    }
    if (c === '"') {
      str();
      return;
    }
    NUM.lastIndex = i;
    if (NUM.test(src)) {
      i = NUM.lastIndex;
      return;
    }
    const lit = ['true', 'false', 'null'].find((l) => src.startsWith(l, i));
    if (lit === undefined) bad();
    else i += lit.length;
  };
  try {
    value([]);
    ws();
    if (i < src.length) bad();
    return null;
  } catch (e) {
    if (e instanceof Stop) return e;
    // a line nested deeper than the stack: no column, the caller says column 1
    if (e instanceof RangeError) return null;
    throw e;
  }
}

/** 0-based offset of the first syntax error in `src`, or null where none is found. */
export function jsonErrorOffset(src: string): number | null {
  const s = walk(src, null);
  return s && !s.found ? s.offset : null;
}

/** 0-based offset where the value at `path` starts in valid JSON `src`, or null where there is none. */
export function jsonValueOffset(src: string, path: readonly string[]): number | null {
  const s = walk(src, path);
  return s?.found ? s.offset : null;
}
