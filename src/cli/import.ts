// emerflow import users|items|events <space> <file>: streams the file, checks each row,
// sends batches as they fill (one in flight, so memory holds one batch whatever the file's
// size) and ends with a summary; rejected rows are listed by line with the reason.
import fs from 'node:fs';
import type { Readable } from 'node:stream';
import { LIMITS } from '../api/limits.js';
import { EmerFlowError } from '../client/errors.js';
import type { Event, ItemIn, UserIn } from '../api/contract.js';
import { parse } from './args.js';
import { EXIT, NotFound, UsageError } from './exit.js';
import type { Io } from './io.js';
import { duration, progress } from './progress.js';
import { formatOf, readRows, type Format } from './read-rows.js';
import { KINDS, rowError, type Kind } from './rows.js';

const USAGE = 'emerflow import users|items|events <space> <file|-> [--format jsonl|csv] [--version v]';
/** JSON bytes of one batch: small enough that memory stays a few times this, large enough to keep requests few. */
const BATCH_BYTES = 1024 * 1024;
/** Rejections listed in the summary (all are counted); bounded, like everything else held here. */
const LISTED = 1000;

interface Tally {
  rows: number;
  accepted: number;
  unchanged: number;
  duplicates: number;
  rejected: number;
  listed: string[];
}

/** An error the service pinned on one row of the batch: "body.items[3].embedding has 3 numbers…". */
const ROW_ERROR = /^(?:body\.)?(?:users|items|events)\[(\d+)\]\.?(.*)$/s;

export async function importCommand(io: Io, argv: string[]): Promise<number> {
  const { values, positionals } = parse(USAGE, argv, { format: { type: 'string' }, version: { type: 'string' } }, { min: 3 });
  const [kindArg, space, file] = positionals as [string, string, string];
  if (!KINDS.includes(kindArg as Kind)) throw new UsageError(`import what: users, items or events, not ${JSON.stringify(kindArg)}`);
  const kind = kindArg as Kind;
  if (values.version !== undefined && kind === 'events') throw new UsageError('events belong to the space, not a version: no --version');
  const format = (values.format ?? formatOf(file)) as Format | null;
  if (format !== 'jsonl' && format !== 'csv')
    throw new UsageError(`--format must be jsonl or csv (${values.format ? `not ${values.format}` : `cannot tell from the name ${file}`})`);
  const { input, size } = open(file);

  const client = io.client();
  const view = await client.getSpace(space);
  const pinned = values.version;
  const version =
    pinned === undefined ? view.versions.find((v) => v.state === 'current') : view.versions.find((v) => String(v.version) === pinned);
  if (!version) throw new NotFound(`space "${space}" has no version ${pinned}`);

  const t: Tally = { rows: 0, accepted: 0, unchanged: 0, duplicates: 0, rejected: 0, listed: [] };
  const reject = (line: number, why: string) => {
    t.rejected++;
    if (t.listed.length < LISTED) t.listed.push(`line ${line}: ${why}`);
  };
  const send = async (rows: unknown[], lines: number[]) => {
    // A row the service still refuses (a check only it can make: VECTOR_MAX_ABS, FEATURES_MAX_BYTES)
    // is named by its index: it is rejected and the rest of the batch sent again.
    while (rows.length) {
      try {
        return add(t, await post(client, kind, space, rows, pinned));
      } catch (err) {
        if (!(err instanceof EmerFlowError) || err.status !== 400) throw err;
        const m = ROW_ERROR.exec(err.message);
        const i = m ? Number(m[1]) : -1;
        if (!m || i >= rows.length) throw err;
        reject(lines[i] ?? 0, m[2] || err.message);
        rows.splice(i, 1);
        lines.splice(i, 1);
      }
    }
  };

  const started = Date.now();
  const bar = progress(io, `import ${kind}`);
  let offset = 0;
  const report = () => {
    const elapsed = Date.now() - started;
    const fraction = size ? offset / size : undefined;
    const rate = t.rows / Math.max(elapsed / 1000, 0.001);
    const eta = fraction && fraction < 1 ? `, ETA ${duration((elapsed * (1 - fraction)) / fraction)}` : '';
    return { fraction, text: `${t.rows} rows, ${Math.round(rate)} rows/s${eta}` };
  };
  let batch: unknown[] = [];
  let lines: number[] = [];
  let bytes = 0;
  try {
    for await (const r of readRows(input, format, kind)) {
      t.rows++;
      offset = r.offset;
      const why = r.error ?? rowError(kind, r.row, version.dim);
      if (why !== null) reject(r.line, why);
      else {
        const rowBytes = JSON.stringify(r.row).length + 1;
        if (batch.length >= LIMITS[kind] || (batch.length > 0 && bytes + rowBytes > BATCH_BYTES)) {
          await send(batch, lines);
          [batch, lines, bytes] = [[], [], 0];
        }
        batch.push(r.row);
        lines.push(r.line);
        bytes += rowBytes;
      }
      if (t.rows % 256 === 0) bar.update(report());
    }
    await send(batch, lines);
  } finally {
    input.destroy();
  }
  bar.done(report());
  io.out(summary(kind, space, file, t, Date.now() - started));
  return t.rejected > 0 ? EXIT.rejected : EXIT.ok;
}

function open(file: string): { input: Readable; size: number | undefined } {
  if (file === '-') return { input: process.stdin, size: undefined };
  let size: number;
  try {
    const st = fs.statSync(file);
    if (!st.isFile()) throw new Error('not a file');
    size = st.size;
  } catch (err) {
    throw new UsageError(`cannot read ${file}: ${(err as Error).message}`);
  }
  return { input: fs.createReadStream(file), size };
}

function post(client: ReturnType<Io['client']>, kind: Kind, space: string, rows: unknown[], version: string | undefined) {
  if (kind === 'users') return client.upsertUsers(space, rows as UserIn[], { version });
  if (kind === 'items') return client.upsertItems(space, rows as ItemIn[], { version });
  return client.addEvents(space, rows as Event[]);
}

function add(t: Tally, a: { upserted?: number; accepted?: number; unchanged?: number; duplicates?: number }): void {
  t.accepted += a.accepted ?? a.upserted ?? 0;
  t.unchanged += a.unchanged ?? 0;
  t.duplicates += a.duplicates ?? 0;
}

function summary(kind: Kind, space: string, file: string, t: Tally, ms: number): string {
  const more = t.rejected > t.listed.length ? [`… and ${t.rejected - t.listed.length} more rejected rows`] : [];
  return [
    `imported ${kind} into space "${space}" from ${file}: ${t.rows} rows in ${(ms / 1000).toFixed(1)} s`,
    `accepted: ${t.accepted}`,
    `unchanged: ${t.unchanged}`,
    `duplicates: ${t.duplicates}`,
    `rejected: ${t.rejected}`,
    ...t.listed,
    ...more,
  ].join('\n');
}
