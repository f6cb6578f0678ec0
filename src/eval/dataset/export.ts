// Writes a Dataset in the generic layout (docs/datasets.md) so that readDatasetDir gives it back
// unchanged: the same ids, numbers, orders, labels, features and text. Interactions carry the 0/1
// label (the rating threshold is applied at export), users.csv lists every user in number order
// (so users without features keep their numbers), and strings that look like numbers are quoted.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { csvField } from './csv.js';
import { INTERACTIONS_FILE, ITEMS_FILE, USERS_FILE } from './generic.js';
import type { Dataset } from './types.js';

export function writeDataset(ds: Dataset, dir: string): void {
  mkdirSync(dir, { recursive: true });
  const items = ds.items.map((it) =>
    JSON.stringify(it.text ? { id: it.id, features: it.features, text: it.text } : { id: it.id, features: it.features }),
  );
  writeFileSync(join(dir, ITEMS_FILE), `${items.join('\n')}\n`);

  const names = [...new Set(ds.users.flatMap((u) => Object.keys(u.features)))];
  if (names.includes('user')) throw new Error('writeDataset: a user feature named "user" clashes with users.csv\'s id column');
  const users = ds.users.map((u) =>
    [
      csvField(u.id),
      ...names.map((n) => {
        const v = u.features[n];
        return v === undefined ? '' : typeof v === 'number' ? String(v) : csvField(v, true);
      }),
    ].join(','),
  );
  writeFileSync(join(dir, USERS_FILE), `${['user', ...names].map((n) => csvField(n)).join(',')}\n${users.map((l) => `${l}\n`).join('')}`);

  const id = (list: { id: string }[], n: number, what: string): string => {
    const x = list[n - 1];
    if (!x) throw new Error(`writeDataset: an interaction names ${what} ${n}, which is not in the dataset`);
    return csvField(x.id);
  };
  const rows = [...ds.interactions]
    .sort((a, b) => a.order - b.order)
    .map((r) => `${id(ds.users, r.user, 'user')},${id(ds.items, r.item, 'item')},${r.label},${r.ts}\n`);
  writeFileSync(join(dir, INTERACTIONS_FILE), `user,item,label,ts\n${rows.join('')}`);
}
