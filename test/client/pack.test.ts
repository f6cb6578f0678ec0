// The package as a consumer gets it: `npm pack` of this checkout installed into an empty
// folder, then the client used from a plain .mjs file (no TypeScript, no tsx) and the
// `emerflow` bin run from node_modules/.bin (a command that needs only the client, and the import,
// which needs the rest), both against the real service over a socket.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { TEST_ADMIN_KEY, listenOnLoopback, startTestService, tempDir } from '../support/service.js';
import { REPO_ROOT } from '../support/processes.js';
import { runChild } from '../support/run-child.js';

const run = (cwd: string, cmd: string, args: string[], env: Record<string, string> = {}) => runChild(cmd, args, { cwd, env });

// What a ranking service written in plain JavaScript would do: no types, no build.
const CONSUMER = `
import { createClient, EmerFlowError } from 'emerflow/client';

const client = createClient({ baseUrl: process.env.EMERFLOW_URL, apiKey: process.env.EMERFLOW_KEY });
const space = await client.createSpace({ id: 'packed', dim: 3, itemType: 'movie' });
const items = [1, 2, 3].map((k) => ({ id: 'm' + k, features: { title: 'Film ' + k }, embedding: [k, k / 2, -k] }));
const written = await client.upsertItems('packed', items);
const found = await client.lookup('packed', ['m1', 'nope', 'm3'], { format: 'float32' });
let notFound = null;
try {
  await client.getEmbedding('packed', 'nope');
} catch (err) {
  notFound = err instanceof EmerFlowError ? err.status : String(err);
}
console.log(JSON.stringify({
  dim: space.dim,
  written,
  ids: found.ids,
  missing: found.missing,
  rows: found.rows.map((r) => ({ isFloat32: r instanceof Float32Array, allNaN: r.every(Number.isNaN), values: Array.from(r, String) })),
  notFound,
}));
`;

test('the packed package installs in an empty folder and works from plain .mjs and its bin', async (t) => {
  const svc = await startTestService(t);
  const app = svc.app!; // the test service runs the API role: it has an app
  const env = { EMERFLOW_URL: await listenOnLoopback(app), EMERFLOW_KEY: TEST_ADMIN_KEY };
  const dir = tempDir(t, 'emerflow-pack-');

  // npm pack runs the prepack build (tsc -p tsconfig.build.json) of this checkout
  const packed = await run(REPO_ROOT, 'npm', ['pack', '--json', '--pack-destination', dir]);
  assert.equal(packed.code, 0, packed.stderr);
  const [info] = JSON.parse(packed.stdout) as { filename: string; files: { path: string }[] }[];
  assert.ok(info, packed.stdout);
  const files = info.files.map((f) => f.path);
  for (const f of ['dist/client/index.js', 'dist/client/index.d.ts', 'dist/cli/main.js', 'docs/client.md', 'README.md'])
    assert.ok(files.includes(f), `${f} is in the package`);
  assert.ok(!files.some((f) => f.startsWith('src/') || f.startsWith('test/')), 'no sources or tests in the package');

  const consumer = path.join(dir, 'consumer');
  fs.mkdirSync(consumer);
  fs.writeFileSync(path.join(consumer, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
  // from npm's cache where it can (the checkout's own install filled it); no install scripts, no optional GPU backend
  const installed = await run(consumer, 'npm', [
    'install',
    path.join(dir, info.filename),
    '--prefer-offline',
    '--ignore-scripts',
    '--omit=optional',
    '--no-audit',
    '--no-fund',
  ]);
  assert.equal(installed.code, 0, installed.stderr);
  assert.ok(fs.existsSync(path.join(consumer, 'node_modules/emerflow/dist/client/index.d.ts')), 'types come with it');

  fs.writeFileSync(path.join(consumer, 'use.mjs'), CONSUMER);
  const used = await run(consumer, process.execPath, ['use.mjs'], env);
  assert.equal(used.code, 0, used.stderr);
  assert.deepEqual(JSON.parse(used.stdout), {
    dim: 3,
    written: { accepted: 3, unchanged: 0 },
    ids: ['m1', 'nope', 'm3'],
    missing: ['nope'],
    rows: [
      { isFloat32: true, allNaN: false, values: ['1', '0.5', '-1'] },
      { isFloat32: true, allNaN: true, values: ['NaN', 'NaN', 'NaN'] },
      { isFloat32: true, allNaN: false, values: ['3', '1.5', '-3'] },
    ],
    notFound: 404,
  });

  const bin = path.join(consumer, 'node_modules/.bin/emerflow');
  const shown = await run(consumer, bin, ['spaces', 'show', 'packed'], env);
  assert.equal(shown.code, 0, shown.stderr);
  assert.equal(JSON.parse(shown.stdout).counts.items['established'], 3);
  const missing = await run(consumer, bin, ['spaces', 'show', 'nope'], env);
  assert.equal(missing.code, 4, `not found: ${missing.stderr}`);
  // The bin loads a command's modules when it is named: import brings in the rest (typebox and the
  // API's schemas, which check each row before it is sent), and they must come with the package too.
  const events = ['{"id":"e1","userId":"u1","itemId":"m1","label":1}', '{"id":"e2","userId":"u1","itemId":"m1","label":2}'];
  fs.writeFileSync(path.join(consumer, 'events.jsonl'), `${events.join('\n')}\n`);
  const imported = await run(consumer, bin, ['import', 'events', 'packed', 'events.jsonl'], env);
  assert.equal(imported.code, 3, `one row rejected: ${imported.stderr}`);
  assert.match(imported.stdout, /^accepted: 1$/m);
  assert.match(imported.stdout, /^line 2: label must be one of 0, 1/m);
});
