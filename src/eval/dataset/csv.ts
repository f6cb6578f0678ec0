// RFC 4180 CSV (quoted fields, doubled quotes, newlines inside quotes) with each record's line and
// whether each field was quoted: the dataset loader reports errors by line and field, and reads a
// quoted value as a string even when it looks like a number (a zip code).

export interface CsvField {
  value: string;
  quoted: boolean;
}
export interface CsvRecord {
  /** 1-based line the record starts on */
  line: number;
  fields: CsvField[];
}

export class CsvSyntaxError extends Error {
  constructor(
    readonly line: number,
    /** 1-based field position */
    readonly column: number,
    reason: string,
  ) {
    super(reason);
  }
}

/** The records of `src`, in order; an empty line is a record of one empty field (the caller skips it). */
export function* csvRecords(src: string): Generator<CsvRecord> {
  let i = 0;
  let line = 1;
  while (i < src.length) {
    const start = line;
    const fields: CsvField[] = [];
    for (;;) {
      let value: string;
      const quoted = src[i] === '"';
      if (quoted) {
        value = '';
        i++;
        for (;;) {
          const close = src.indexOf('"', i);
          if (close < 0) throw new CsvSyntaxError(start, fields.length + 1, 'unterminated quoted field');
          const part = src.slice(i, close);
          for (let j = part.indexOf('\n'); j >= 0; j = part.indexOf('\n', j + 1)) line++;
          value += part;
          i = close + 1;
          if (src[i] !== '"') break;
          value += '"';
          i++;
        }
      } else {
        const s = i;
        while (i < src.length && src[i] !== ',' && src[i] !== '\n' && src[i] !== '\r') i++;
        value = src.slice(s, i);
      }
      fields.push({ value, quoted });
      const c = src[i];
      if (c === ',') {
        i++;
        continue;
      }
      if (c === '\n' || c === '\r') {
        i += c === '\r' && src[i + 1] === '\n' ? 2 : 1;
        line++;
      } else if (c !== undefined) throw new CsvSyntaxError(line, fields.length, `unexpected ${JSON.stringify(c)} after a closing quote`);
      break;
    }
    yield { line: start, fields };
  }
}

/** Every record's field values. */
export function parseCsv(src: string): string[][] {
  return Array.from(csvRecords(src), (r) => r.fields.map((f) => f.value));
}

/** What an unquoted field must look like to be read as a number: a JS decimal literal (String(n) writes these). */
export const NUMBER = /^[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?$/;

const NEEDS_QUOTES = /[",\r\n]|^\s|\s$/;

/**
 * One CSV field as csvRecords reads it back: quoted when it holds a separator, a quote, a newline or
 * surrounding space, and, with `keepString`, when it is empty or looks like a number (the loader
 * reads an unquoted number as a number and an unquoted empty field as missing).
 */
export function csvField(s: string, keepString = false): string {
  const quote = NEEDS_QUOTES.test(s) || (keepString && (s === '' || NUMBER.test(s)));
  return quote ? `"${s.replaceAll('"', '""')}"` : s;
}
