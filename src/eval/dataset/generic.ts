// Reads a dataset directory in the generic layout (docs/datasets.md): items.jsonl,
// interactions.csv and, optionally, users.csv. Files are read whole (ML-size files are a few MB);
// every problem is reported as `file:line:column: what`, the first one found.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { csvRecords, CsvSyntaxError, NUMBER, type CsvRecord } from './csv.js';
import { DatasetError, DatasetPathError, shown } from './errors.js';
import { jsonErrorOffset, jsonValueOffset } from './json-pos.js';
import type { Dataset, DatasetItem, DatasetUser, FeatureValue, Interaction } from './types.js';

export const ITEMS_FILE = 'items.jsonl';
export const INTERACTIONS_FILE = 'interactions.csv';
export const USERS_FILE = 'users.csv';

function readText(path: string): string {
  let src: string;
  try {
    src = readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new DatasetPathError(`${path}: ${code === 'ENOENT' ? 'no such file' : `cannot read (${code ?? (e as Error).message})`}`);
  }
  // a byte-order mark (spreadsheet exports) is not part of the first field or object
  return src.startsWith('\uFEFF') ? src.slice(1) : src;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function isFeatureValue(v: unknown): v is FeatureValue {
  return (
    typeof v === 'string' || (typeof v === 'number' && Number.isFinite(v)) || (Array.isArray(v) && v.every((s) => typeof s === 'string'))
  );
}

function jsonSyntaxError(path: string, line: number, src: string, e: unknown): DatasetError {
  const msg = (e as Error).message;
  const pos = / at position (\d+)/.exec(msg);
  const offset = pos ? Number(pos[1]) : jsonErrorOffset(src);
  // the position is in the column already; newer Node versions also append "(line 1 column n)"
  return new DatasetError(path, line, (offset ?? 0) + 1, msg.replace(/ in JSON at position \d+.*$/, ''));
}

function readItems(path: string): DatasetItem[] {
  const items: DatasetItem[] = [];
  const lineOf = new Map<string, number>();
  const lines = readText(path).split('\n');
  for (let k = 0; k < lines.length; k++) {
    const src = lines[k]!.replace(/\r$/, ''); // k < lines.length
    if (src.trim() === '') continue;
    const line = k + 1;
    let v: unknown;
    try {
      v = JSON.parse(src);
    } catch (e) {
      throw jsonSyntaxError(path, line, src, e);
    }
    const fail = (reason: string, at?: string[]): DatasetError =>
      new DatasetError(path, line, (at ? (jsonValueOffset(src, at) ?? 0) : 0) + 1, reason);
    if (!isObject(v)) throw fail(`an item must be a JSON object {"id", "features", "text"?}, got ${shown(v)}`);
    const id = v.id;
    if (typeof id !== 'string' || id === '')
      throw fail(`"id" must be a non-empty string, got ${shown(id)}`, id === undefined ? undefined : ['id']);
    const first = lineOf.get(id);
    if (first !== undefined) throw fail(`duplicate item id ${shown(id)} (first on line ${first})`, ['id']);
    lineOf.set(id, line);
    if (!isObject(v.features))
      throw fail(`"features" must be an object, got ${shown(v.features)}`, v.features === undefined ? undefined : ['features']);
    // entries, then fromEntries: a feature named "__proto__" stays a feature instead of becoming the prototype
    const features: [string, FeatureValue][] = [];
    for (const [name, x] of Object.entries(v.features)) {
      if (x === null) continue; // null: the item has no value for this feature
      if (!isFeatureValue(x))
        throw fail(`feature ${shown(name)} must be a string, a number or a list of strings, got ${shown(x)}`, ['features', name]);
      features.push([name, x]);
    }
    let text: Record<string, string> | null = null;
    if (v.text !== undefined && v.text !== null) {
      if (!isObject(v.text)) throw fail(`"text" must be an object of strings, got ${shown(v.text)}`, ['text']);
      const t: [string, string][] = [];
      for (const [name, x] of Object.entries(v.text)) {
        if (x === null) continue;
        if (typeof x !== 'string') throw fail(`text ${shown(name)} must be a string, got ${shown(x)}`, ['text', name]);
        t.push([name, x]);
      }
      if (t.length > 0) text = Object.fromEntries(t);
    }
    items.push({ id, features: Object.fromEntries(features), text });
  }
  if (items.length === 0) throw new DatasetError(path, 1, 1, 'no items');
  return items;
}

/** A CSV file's header (name → field index) and its non-empty records after it. */
function readTable(path: string): { header: Map<string, number>; names: string[]; rows: CsvRecord[] } {
  const records: CsvRecord[] = [];
  try {
    for (const r of csvRecords(readText(path))) {
      const blank = r.fields.length === 1 && !r.fields[0]!.quoted && r.fields[0]!.value.trim() === ''; // a record has ≥ 1 field
      if (!blank) records.push(r);
    }
  } catch (e) {
    if (e instanceof CsvSyntaxError) throw new DatasetError(path, e.line, e.column, e.message);
    throw e;
  }
  const [head, ...rows] = records;
  if (!head || head.line !== 1) throw new DatasetError(path, 1, 1, 'the first line must be the header');
  const names = head.fields.map((f) => f.value.trim());
  const header = new Map<string, number>();
  names.forEach((name, j) => {
    if (header.has(name)) throw new DatasetError(path, 1, j + 1, `column ${shown(name)} appears twice in the header`);
    header.set(name, j);
  });
  for (const r of rows)
    if (r.fields.length !== names.length)
      throw new DatasetError(
        path,
        r.line,
        Math.min(r.fields.length, names.length) + 1,
        `expected ${names.length} fields as in the header, got ${r.fields.length}`,
      );
  return { header, names, rows };
}

function column(path: string, t: { header: Map<string, number>; names: string[] }, name: string): number {
  const j = t.header.get(name);
  if (j === undefined) throw new DatasetError(path, 1, 1, `missing column ${shown(name)} (header: ${t.names.join(',')})`);
  return j;
}

/** An unquoted field without its surrounding spaces; a quoted one as written. */
const valueOf = (f: { value: string; quoted: boolean }): string => (f.quoted ? f.value : f.value.trim());

function readUsers(path: string): DatasetUser[] {
  const t = readTable(path);
  const cu = column(path, t, 'user');
  const seen = new Map<string, number>();
  return t.rows.map((r) => {
    const field = (j: number) => r.fields[j]!; // readTable checked every row has the header's fields
    const id = valueOf(field(cu));
    if (id === '') throw new DatasetError(path, r.line, cu + 1, 'empty user id');
    const first = seen.get(id);
    if (first !== undefined) throw new DatasetError(path, r.line, cu + 1, `duplicate user id ${shown(id)} (first on line ${first})`);
    seen.set(id, r.line);
    const features: [string, string | number][] = [];
    t.names.forEach((name, j) => {
      if (j === cu) return;
      const f = field(j);
      const v = valueOf(f);
      // an unquoted empty field is a missing value; an unquoted number is a number; quoted is always a string
      if (!f.quoted && v === '') return;
      features.push([name, !f.quoted && NUMBER.test(v) ? Number(v) : v]);
    });
    return { id, features: Object.fromEntries(features) };
  });
}

const ISO = /^\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/;

/** Unix seconds, or an ISO 8601 date or time (UTC when it names no offset, so the machine's zone never matters). */
export function parseTimestamp(s: string): number | null {
  if (NUMBER.test(s)) return Number(s);
  const iso = s.toUpperCase().replace(' ', 'T');
  const m = ISO.exec(iso);
  if (!m) return null;
  const zoned = iso.length === 10 ? iso : m[1] ? iso.replace(/([+-]\d{2})(\d{2})$/, '$1:$2') : `${iso}Z`;
  const ms = Date.parse(zoned);
  return Number.isNaN(ms) ? null : ms / 1000;
}

function readInteractions(path: string, items: DatasetItem[], users: DatasetUser[], positive: number): Interaction[] {
  const t = readTable(path);
  const cu = column(path, t, 'user');
  const ci = column(path, t, 'item');
  const cts = column(path, t, 'ts');
  // with both columns, label wins: it is what the exporter meant as positive
  const byLabel = t.header.has('label');
  const cl = t.header.get('label') ?? t.header.get('rating');
  if (cl === undefined) throw new DatasetError(path, 1, 1, `missing column "label" or "rating" (header: ${t.names.join(',')})`);
  const itemNo = new Map(items.map((it, j) => [it.id, j + 1]));
  const userNo = new Map(users.map((u, j) => [u.id, j + 1]));
  const out: Interaction[] = [];
  for (const r of t.rows) {
    const at = (j: number) => ({ v: valueOf(r.fields[j]!), col: j + 1 }); // readTable checked every row has the header's fields
    const fail = (col: number, reason: string) => new DatasetError(path, r.line, col, reason);
    const u = at(cu);
    if (u.v === '') throw fail(u.col, 'empty user id');
    let user = userNo.get(u.v);
    if (user === undefined) {
      users.push({ id: u.v, features: {} });
      user = users.length;
      userNo.set(u.v, user);
    }
    const i = at(ci);
    const item = itemNo.get(i.v);
    if (item === undefined) throw fail(i.col, `item ${shown(i.v)} is not in ${ITEMS_FILE}`);
    const l = at(cl);
    if (byLabel && l.v !== '0' && l.v !== '1') throw fail(l.col, `label must be 0 or 1, got ${shown(l.v)}`);
    if (!byLabel && !NUMBER.test(l.v)) throw fail(l.col, `rating must be a number, got ${shown(l.v)}`);
    const label = (byLabel ? l.v === '1' : Number(l.v) >= positive) ? 1 : 0;
    const s = at(cts);
    const ts = parseTimestamp(s.v);
    if (ts === null) throw fail(s.col, `ts must be Unix seconds or an ISO 8601 time, got ${shown(s.v)}`);
    out.push({ user, item, label, ts, order: out.length });
  }
  if (out.length === 0) throw new DatasetError(path, 2, 1, 'no interactions');
  return out;
}

/** The dataset in directory `dir`; its name is the directory's name. */
export function readDatasetDir(dir: string, positive = 4): Dataset {
  if (!existsSync(dir) || !statSync(dir).isDirectory())
    throw new DatasetPathError(`dataset ${dir}: not a directory (a directory in the layout of docs/datasets.md, or the built-in ml-100k)`);
  const items = readItems(join(dir, ITEMS_FILE));
  const usersPath = join(dir, USERS_FILE);
  const users = existsSync(usersPath) ? readUsers(usersPath) : [];
  const interactions = readInteractions(join(dir, INTERACTIONS_FILE), items, users, positive);
  return { name: basename(resolve(dir)), items, users, interactions };
}
