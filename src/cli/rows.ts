// A row of an import, checked here against the very schema its route validates with
// (src/api/contract.ts) and against the space's dimension, so that a bad row is reported by
// its line and left out, instead of failing the whole batch it would have been sent in.
import { Compile } from 'typebox/compile';
import { Event, ItemIn, UserIn } from '../api/contract.js';
import { describeIssues } from '../api/validation-message.js';

export type Kind = 'users' | 'items' | 'events';
export const KINDS: readonly Kind[] = ['users', 'items', 'events'];

const SCHEMAS = { users: Compile(UserIn), items: Compile(ItemIn), events: Compile(Event) };
const VECTOR_FIELD = { users: 'vector', items: 'embedding', events: undefined } as const;

/** Why the row would be refused, or null when it is fine. `dim`: the dimension of the version it goes to. */
export function rowError(kind: Kind, row: unknown, dim: number): string | null {
  const schema = SCHEMAS[kind];
  if (!schema.Check(row)) return describeIssues([...schema.Errors(row)], '');
  const field = VECTOR_FIELD[kind];
  const v = field && (row as Record<string, unknown>)[field];
  if (Array.isArray(v) && v.length !== dim) return `${field} has ${v.length} numbers; the space's dim is ${dim}`;
  return null;
}

/** The CSV columns of each kind: the row's own fields (items: any other column is a feature). */
export const CSV_COLUMNS = {
  users: ['id', 'vector'],
  items: ['id', 'features', 'embedding'],
  events: ['id', 'userId', 'itemId', 'label', 'ts'],
} as const satisfies Record<Kind, readonly string[]>;

/** A vector cell: a JSON array, or numbers separated by spaces or semicolons. */
function vectorCell(text: string): unknown {
  const t = text.trim();
  if (t.startsWith('[')) return JSON.parse(t) as unknown;
  return t.split(/[\s;]+/).map((x) => {
    const n = Number(x);
    if (x === '' || !Number.isFinite(n)) throw new Error(`${JSON.stringify(x)} is not a number`);
    return n;
  });
}

/** A CSV record as the row its route takes; throws with the reason when a cell cannot be read. */
export function csvRow(kind: Kind, header: readonly string[], cells: readonly string[]): Record<string, unknown> {
  if (cells.length !== header.length) throw new Error(`has ${cells.length} fields; the header has ${header.length}`);
  const row: Record<string, unknown> = {};
  const features: Record<string, unknown> = {};
  header.forEach((name, i) => {
    const cell = cells[i] ?? '';
    if (cell === '') return; // an empty cell: the field is absent
    try {
      if (name === 'vector' || name === 'embedding') row[name] = vectorCell(cell);
      else if (name === 'label') row[name] = cell === '0' ? 0 : cell === '1' ? 1 : cell;
      else if (kind === 'items' && name === 'features') Object.assign(features, JSON.parse(cell) as object);
      else if (kind === 'items' && name !== 'id') features[name] = cell;
      else row[name] = cell;
    } catch (err) {
      throw new Error(`${name}: ${(err as Error).message}`);
    }
  });
  if (kind === 'items') row['features'] = features;
  return row;
}
