// The rows of an import file, one at a time, from JSON lines or CSV: each with its line
// number, and either the row or why it could not be read.
import type { Readable } from 'node:stream';
import { lines, type Line } from './lines.js';
import { splitCsv } from './csv.js';
import { CSV_COLUMNS, csvRow, type Kind } from './rows.js';
import { UsageError } from './exit.js';

export type Format = 'jsonl' | 'csv';

export interface Read {
  line: number;
  /** bytes read up to the end of this row */
  offset: number;
  row?: unknown;
  error?: string;
}

/** jsonl for .jsonl / .ndjson / .json, csv for .csv; null otherwise (then --format must say). */
export function formatOf(file: string): Format | null {
  if (/\.(jsonl|ndjson|json)$/i.test(file)) return 'jsonl';
  if (/\.csv$/i.test(file)) return 'csv';
  return null;
}

// A quoted CSV field may span lines; past this a record is taken as an unterminated quote
// rather than read on (and held in memory) to the end of the file.
const MAX_RECORD_CHARS = 1024 * 1024;

export async function* readRows(input: Readable, format: Format, kind: Kind): AsyncGenerator<Read> {
  const it = lines(input);
  if (format === 'jsonl') {
    for await (const l of it) {
      if (l.text.trim() === '') continue;
      try {
        yield { line: l.number, offset: l.offset, row: JSON.parse(l.text) as unknown };
      } catch (err) {
        yield { line: l.number, offset: l.offset, error: `not valid JSON: ${(err as Error).message}` };
      }
    }
    return;
  }
  let header: string[] | undefined;
  for (let l = await it.next(); !l.done; l = await it.next()) {
    const first: Line = l.value;
    if (first.text.trim() === '') continue;
    let record = first.text;
    let last = first;
    let cells = splitCsv(record);
    while (cells === null && record.length <= MAX_RECORD_CHARS) {
      const more = await it.next();
      if (more.done) break;
      last = more.value;
      record += `\n${last.text}`;
      cells = splitCsv(record);
    }
    if (cells === null) {
      yield { line: first.number, offset: last.offset, error: 'a quoted field is never closed' };
      continue;
    }
    if (!header) {
      header = cells.map((c) => c.trim());
      checkHeader(kind, header);
      continue;
    }
    try {
      yield { line: first.number, offset: last.offset, row: csvRow(kind, header, cells) };
    } catch (err) {
      yield { line: first.number, offset: last.offset, error: (err as Error).message };
    }
  }
}

function checkHeader(kind: Kind, header: string[]): void {
  const known: readonly string[] = CSV_COLUMNS[kind];
  const unknown = kind === 'items' ? [] : header.filter((h) => !known.includes(h));
  if (unknown.length || !header.includes('id'))
    throw new UsageError(`the CSV header of ${kind} must name id and only ${known.join(', ')}; it has ${header.join(', ')}`);
}
