// A small synthetic dataset in the generic layout (docs/datasets.md), written by the tests that need
// one (never committed data): 60 users who each like one of four kinds of item; 40 items whose name,
// tags and price say their kind; ratings high when the kinds match.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { mulberry32 } from '../../src/model/prng.js';

export const KINDS = ['space', 'crime', 'music', 'sport'];
export const N_USERS = 60;
export const IN_USERS_CSV = 50;
/** interactions per item: 20 established (> 60), 16 emerging (20..44, ≥ 3k = 15), 4 dropped (< 15) */
export const PER_ITEM = Array.from({ length: 40 }, (_, j) => (j < 20 ? 100 : j < 36 ? 20 + (j % 4) * 8 : 8));
export const HAS_TEXT = (j: number) => j % 3 === 0;

export interface Written {
  dir: string;
  /** per interaction line: the true time, label, user and item ids */
  rows: { ts: number; label: 0 | 1; user: string; item: string }[];
}

/**
 * 60 users who each like one of four kinds of item; 40 items whose name, tags and price say their
 * kind; ratings high when the kinds match. Header columns out of order plus one the loader ignores,
 * timestamps in three spellings, users.csv for the first 50 users only.
 */
export function writeSynthetic(root: string, name: string, withUsers = true): Written {
  const dir = join(root, name);
  mkdirSync(dir, { recursive: true });
  const rand = mulberry32(20261202);
  const itemId = (j: number) => `sku-${String(j).padStart(3, '0')}`;
  const items = PER_ITEM.map((_, j) => {
    const kind = KINDS[j % 4]!; // j % 4 < KINDS.length
    const features: Record<string, unknown> = { name: `${kind} item number ${j}`, tags: [kind, `tag${Math.floor(rand() * 3)}`] };
    if (j % 5 !== 0) features.price = Math.round(10 + 20 * (j % 4) + 10 * rand());
    return JSON.stringify({ id: itemId(j), features, ...(HAS_TEXT(j) ? { text: { blurb: `a story about ${kind}, told twice` } } : {}) });
  });
  writeFileSync(join(dir, 'items.jsonl'), `${items.join('\n')}\n`);
  const rows: Written['rows'] = [];
  const lines: string[] = [];
  PER_ITEM.forEach((n, j) => {
    for (let c = 0; c < n; c++) {
      const u = Math.floor(rand() * N_USERS);
      const like = rand() < (u % 4 === j % 4 ? 0.85 : 0.15);
      const rating = like ? 4 + Math.floor(rand() * 2) : 1 + Math.floor(rand() * 3);
      const ts = 1_700_000_000 + Math.floor(rand() * 1_000_000);
      const iso = (offsetHours: number, zone: string) => new Date((ts + offsetHours * 3600) * 1000).toISOString().replace('.000Z', zone);
      const when = c % 3 === 0 ? String(ts) : c % 3 === 1 ? iso(0, 'Z') : iso(1, '+01:00');
      rows.push({ ts, label: rating >= 4 ? 1 : 0, user: `u${u}`, item: itemId(j) });
      lines.push(`${when},${itemId(j)},"s${c}, evening",u${u},${rating}`);
    }
  });
  writeFileSync(join(dir, 'interactions.csv'), `ts,item,session,user,rating\n${lines.join('\n')}\n`);
  if (withUsers) {
    const users = Array.from({ length: IN_USERS_CSV }, (_, i) => `u${i},${18 + ((i * 7) % 50)},${['a', 'b', 'c'][i % 3]},"0${1000 + i}"`);
    writeFileSync(join(dir, 'users.csv'), `user,age,segment,zip\n${users.join('\n')}\n`);
  }
  return { dir, rows };
}
