// The emerflow CLI (src/cli) as a child process against the real service over a socket:
// every command, its exit codes, an import of a 100,000-line events file in bounded memory
// with a correct summary (bad lines and duplicates included), and its progress lines when
// stderr is not a terminal.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { TEST_ADMIN_KEY, listenOnLoopback, startTestService, tempDir } from '../support/service.js';
import { freePort } from '../../src/dev/postgres.js';
import { REPO_ROOT } from '../support/processes.js';
import { runChild } from '../support/run-child.js';
import { makeWorld } from '../support/fixtures.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
/** The CLI of the code this test runs: compiled when the suite is (.test-build), else from source through tsx. */
const CLI = import.meta.url.endsWith('.js')
  ? ['--enable-source-maps', path.resolve(HERE, '../../src/cli/main.js')]
  : ['--import', 'tsx', path.join(REPO_ROOT, 'src/cli/main.ts')];

/** The CLI with EMERFLOW_URL and EMERFLOW_KEY from `env` alone (never from the environment the tests run in). */
const cli = (env: Record<string, string>, ...args: string[]) =>
  runChild(process.execPath, [...CLI, ...args], { cwd: REPO_ROOT, env: { EMERFLOW_URL: undefined, EMERFLOW_KEY: undefined, ...env } });

const field = (out: string, name: string) => Number(new RegExp(`^${name}: (\\d+)$`, 'm').exec(out)?.[1]);
const peakKiB = (stderr: string) => Number(/^stats: maxRSS=(\d+) KiB$/m.exec(stderr)?.[1]);

test('cli: commands, exit codes, a 100,000-line import in bounded memory', async (t) => {
  const svc = await startTestService(t);
  const app = svc.app!; // the test service runs the API role: it has an app
  const env = { EMERFLOW_URL: await listenOnLoopback(app), EMERFLOW_KEY: TEST_ADMIN_KEY };
  const dir = tempDir(t, 'emerflow-cli-');
  const file = (name: string, text: string) => {
    const p = path.join(dir, name);
    fs.writeFileSync(p, text);
    return p;
  };
  const world = makeWorld({ dim: 4, users: 20, items: 24 });

  await t.test('usage errors exit 2, with the reason on stderr', async () => {
    const help = await cli(env, '--help');
    assert.equal(help.code, 0);
    assert.match(
      help.stdout,
      /exit codes:\n {2}0 {2}ok\n {2}1 {2}failed.*\n {2}2 {2}usage error.*\n {2}3 {2}import: some rows were rejected.*\n {2}4 {2}not found/,
    );
    for (const args of [[], ['nope'], ['spaces', 'create', 'x'], ['import', 'events', 'movies'], ['lookup', 'movies', 'm1', '--bogus']]) {
      const r = await cli(env, ...args);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    }
    assert.match((await cli(env, 'spaces', 'create', 'x')).stderr, /--dim is required/);
    const noKey = await cli({ EMERFLOW_URL: env.EMERFLOW_URL }, 'spaces', 'show', 'movies');
    assert.equal(noKey.code, 2);
    assert.match(noKey.stderr, /EMERFLOW_KEY is not set/);
    const missing = await cli(env, 'import', 'events', 'movies', path.join(dir, 'absent.jsonl'));
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /cannot read/);
  });

  await t.test('spaces, import of users and items (CSV and JSON lines), train --wait, lookup, status', async () => {
    const created = await cli(env, 'spaces', 'create', 'movies', '--dim', '4', '--item-type', 'movie');
    assert.equal(created.code, 0, created.stderr);
    assert.equal(JSON.parse(created.stdout).dim, 4);
    assert.equal(JSON.parse((await cli(env, 'spaces', 'show', 'movies')).stdout).itemType, 'movie');

    const users = file('users.csv', `id,vector\n${world.users.map((u) => `${u.id},${u.vector.join(' ')}`).join('\n')}\n`);
    const u = await cli(env, 'import', 'users', 'movies', users);
    assert.equal(u.code, 0, u.stderr);
    assert.equal(field(u.stdout, 'accepted'), 20);
    // items as CSV: every column but id and embedding is a feature; a quoted field may hold commas and newlines
    const rows = world.items
      .slice(0, 20)
      .map(
        (i) =>
          `${i.id},"${String(i.features['title'])}, the ""film""","${(i.features['genres'] as string[]).join('\n')}",${i.vector.join(';')}`,
      );
    const items = file('items.csv', `id,title,genres,embedding\n${rows.join('\n')}\n`);
    const it = await cli(env, 'import', 'items', 'movies', items);
    assert.equal(it.code, 0, it.stderr);
    assert.equal(field(it.stdout, 'accepted'), 20);
    const again = await cli(env, 'import', 'items', 'movies', items);
    assert.equal(field(again.stdout, 'unchanged'), 20);
    const item = (await app.inject({ method: 'GET', url: '/v1/spaces/movies/items/m0' })).json();
    assert.equal(item.state, 'established');
    assert.match(item.features.title, /^Film 0, the "film"$/);
    assert.equal(item.features.genres.split('\n').length, 2);

    const events = [];
    for (let i = 0; i < 20; i++)
      for (let k = 0; k < 20; k += 2) events.push({ id: `s-${i}-${k}`, userId: `u${k}`, itemId: `m${i}`, label: world.label(k, i) });
    const ev = await cli(env, 'import', 'events', 'movies', file('seed.ndjson', events.map((e) => JSON.stringify(e)).join('\n')));
    assert.equal(ev.code, 0, ev.stderr);
    assert.equal(field(ev.stdout, 'accepted'), events.length);

    const trained = await cli(env, 'train', 'movies', '--seed', '3', '--wait');
    assert.equal(trained.code, 0, trained.stderr);
    assert.equal(JSON.parse(trained.stdout).state, 'completed');
    assert.match(trained.stderr, /^train: .*completed$/m, 'non-TTY: plain progress lines');

    const emerging = file('emerging.jsonl', JSON.stringify({ id: 'm20', features: world.items[20]!.features }) + '\n');
    assert.equal((await cli(env, 'import', 'items', 'movies', emerging)).code, 0);
    const lookup = await cli(env, 'lookup', 'movies', 'm1', 'm2', 'nope');
    assert.equal(lookup.code, 0, lookup.stderr);
    const j = JSON.parse(lookup.stdout);
    assert.deepEqual(j.missing, ['nope']);
    const f = JSON.parse((await cli(env, 'lookup', 'movies', 'm1', 'nope', 'm2', '--float32')).stdout);
    assert.equal(f.dim, 4);
    assert.deepEqual(
      f.rows.map((r: { id: string }) => r.id),
      ['m1', 'nope', 'm2'],
    );
    assert.equal(f.rows[1].vector, null);
    assert.deepEqual(f.rows[0].vector, j.embeddings[0].vector.map(Math.fround));

    const status = await cli(env, 'status', 'movies');
    assert.equal(status.code, 0, status.stderr);
    assert.match(status.stdout, /^space movies: dim 4, item type movie, scorer dot; current version 1; model v1/m);
    assert.match(status.stdout, /established 20/);
    assert.match(status.stdout, /^ {2}bucket +events +positives +auc +coldAuc +logLoss +coldLogLoss$/m);
    assert.match(status.stdout, /^ {2}61\+ +\d+/m);
  });

  await t.test('keys create, list, revoke', async () => {
    const made = await cli(env, 'keys', 'create', '--scopes', 'read,write', '--name', 'pipeline', '--spaces', 'movies');
    assert.equal(made.code, 0, made.stderr);
    const key = JSON.parse(made.stdout);
    assert.deepEqual(key.scopes, ['read', 'write']);
    const reader = await cli({ ...env, EMERFLOW_KEY: key.key }, 'spaces', 'show', 'movies');
    assert.equal(reader.code, 0, reader.stderr);
    assert.ok(JSON.parse((await cli(env, 'keys', 'list')).stdout).some((k: { id: string }) => k.id === key.id));
    assert.equal((await cli(env, 'keys', 'revoke', key.id)).code, 0);
    assert.equal((await cli(env, 'keys', 'revoke', key.id)).code, 4, 'already revoked: not found');
  });

  await t.test('not found exits 4; a service that cannot be reached exits 1', async () => {
    for (const args of [
      ['spaces', 'show', 'nope'],
      ['status', 'nope'],
      ['import', 'events', 'nope', file('one.jsonl', '{"id":"e","userId":"u0","itemId":"m0","label":1}\n')],
      ['import', 'users', 'movies', file('v.jsonl', '{"id":"u","vector":[1,2,3,4]}\n'), '--version', '7'],
    ]) {
      const r = await cli(env, ...args);
      assert.equal(r.code, 4, `${args.join(' ')}: ${r.stderr}`);
    }
    const port = await freePort(); // just free: nothing listens there
    const down = await cli({ ...env, EMERFLOW_URL: `http://127.0.0.1:${port}` }, 'spaces', 'show', 'movies');
    assert.equal(down.code, 1);
    assert.match(down.stderr, /network_error/);
  });

  await t.test('import of 100,000 events: summary, rejected lines, progress lines, bounded memory', async () => {
    // Events with long ids (as a real pipeline's UUID-and-source ids are), so that the file is
    // large next to what one batch holds. Every 1,000th line repeats an earlier event (a
    // duplicate); ten lines are bad, each in its own way, and one line is blank.
    const pad = 'x'.repeat(150);
    const lines: string[] = [];
    const bad = new Map<number, RegExp>();
    const badLines: [string, RegExp][] = [
      ['{"id":"b1","userId":"u1","itemId":"m1","label":2}', /label must be one of 0, 1/],
      ['{"id":"b2","itemId":"m1","label":1}', /userId is required/],
      ['{"id":"b3","userId":"u1","itemId":"m1","label":1,"rating":5}', /rating is not a known field/],
      ['{"id":"b4","userId":"u1","itemId":"m1","label":1,"ts":"yesterday"}', /ts must match format "date-time"/],
      ['{"id":"","userId":"u1","itemId":"m1","label":1}', /^id must not have fewer than 1 characters/],
      ['{"id":"b6","userId":"u1",', /not valid JSON/],
      ['[1,2,3]', /must be object/],
      ['{"id":"b8","userId":"u1","itemId":"m1","label":"1"}', /label must be one of 0, 1/],
      ['{"id":"b9","userId":"u1","itemId":{"x":1},"label":1}', /itemId must be string/],
      ['not json at all', /not valid JSON/],
    ];
    let duplicates = 0;
    let blank = 0;
    const N = 100_000;
    for (let i = 0; lines.length < N; i++) {
      const n = lines.length + 1; // the line number this one gets
      if (n % 9_973 === 0 && bad.size < badLines.length) {
        const [text, why] = badLines[bad.size]!; // bad.size < badLines.length, checked above
        bad.set(n, why);
        lines.push(text);
      } else if (n === 50_001) {
        blank++;
        lines.push('');
      } else if (n % 1_000 === 0) {
        duplicates++;
        lines.push(JSON.stringify({ id: `ev-${i - 500}-${pad}`, userId: 'u1', itemId: 'm1', label: 1, ts: '2026-03-01T00:00:00Z' }));
      } else {
        const e = {
          id: `ev-${i}-${pad}`,
          userId: `u${i % 20}-${pad}`,
          itemId: `m${i % 24}`,
          label: i % 3 === 0 ? 1 : 0,
          ts: '2026-03-01T00:00:00Z',
        };
        lines.push(JSON.stringify(e));
      }
    }
    assert.equal(bad.size, badLines.length);
    const big = file('events.jsonl', lines.join('\n') + '\n');
    const size = fs.statSync(big).size;

    // The child's V8 heap is capped at 48 MiB, less than the file takes as text and parsed rows (reading and
    // parsing it whole dies at this cap, exit 134: checked by hand). The
    // garbage collector must then reclaim rather than grow, so the peak RSS shows what the import
    // holds, not how lazily V8 collects; and an import that held the file would die of it (exit 134).
    const capped = { ...env, NODE_OPTIONS: '--max-old-space-size=48' };
    const r = await cli(capped, 'import', 'events', 'movies', big, '--stats');
    assert.equal(r.code, 3, `some rows rejected: ${r.stderr}`);
    const rows = N - blank;
    assert.match(r.stdout, new RegExp(`^imported events into space "movies" from .*events.jsonl: ${rows} rows in [\\d.]+ s$`, 'm'));
    assert.equal(field(r.stdout, 'rejected'), bad.size);
    assert.equal(field(r.stdout, 'duplicates'), duplicates);
    assert.equal(field(r.stdout, 'accepted'), rows - bad.size - duplicates);
    for (const [line, why] of bad) {
      const listed = new RegExp(`^line ${line}: (.*)$`, 'm').exec(r.stdout)?.[1] ?? '';
      assert.match(listed, why, `line ${line}`);
    }
    const stored = (await app.inject({ method: 'GET', url: '/v1/spaces/movies' })).json();
    assert.equal(stored.counts.interactions, 200 + rows - bad.size - duplicates);

    // stderr is a pipe here: plain lines, one per 10% step (or 5 s), never a redrawn bar
    const progress = r.stderr.split('\n').filter((l) => l.startsWith('import events: '));
    assert.ok(progress.length >= 10, r.stderr);
    assert.ok(!r.stderr.includes('\r'), 'no bar redrawn in place');
    assert.match(progress.at(-1) ?? '', new RegExp(`^import events: 100% ${rows} rows, \\d+ rows/s$`));
    const percents = progress.map((l) => Number(/: (\d+)%/.exec(l)?.[1]));
    assert.deepEqual(
      percents,
      [...percents].sort((a, b) => a - b),
    );
    assert.match(progress[0] ?? '', /, ETA \d+/);

    // Bounded memory: the peak RSS of the whole import next to that of the same CLI (same heap cap)
    // importing the file's first quarter. An import that holds the file grows with it: the other three
    // quarters cost at least their size again (the text, then as many objects). A streaming import holds one
    // batch (≤ 1 MiB of JSON) whatever the file's length: both runs reach the same steady state
    // (the heap V8 lets grow over the live set, the HTTP client's buffers) within their first
    // megabytes, so the longer file costs next to nothing more.
    const quarter = file('quarter.jsonl', lines.slice(0, N / 4).join('\n') + '\n');
    const base = await cli(capped, 'import', 'events', 'movies', quarter, '--stats');
    assert.equal(base.code, 3, base.stderr);
    const more = size - fs.statSync(quarter).size;
    const grew = (peakKiB(r.stderr) - peakKiB(base.stderr)) * 1024;
    t.diagnostic(
      `file ${(size / 2 ** 20).toFixed(1)} MiB: peak RSS ${peakKiB(r.stderr)} KiB, its first quarter ${peakKiB(base.stderr)} KiB`,
    );
    assert.ok(more > 15 * 2 ** 20, `the rest large enough to tell (${more} bytes)`);
    assert.ok(grew < more / 4, `peak RSS grew by ${grew} bytes for ${more} more bytes of file`);
  });
});
