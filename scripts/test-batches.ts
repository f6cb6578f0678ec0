// How `npm test` spreads the suite over processes: which test files share one (a batch), in
// what order the batches start, and the entry file that runs a batch.
import fs from 'node:fs';
import path from 'node:path';

/** Every test file under `dir`, sorted. */
export function testFiles(dir: string): string[] {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => {
      const p = path.join(dir, e.name);
      return e.isDirectory() ? testFiles(p) : e.name.endsWith('.test.ts') ? [p] : [];
    })
    .sort();
}

// Test files share processes: a file run in a process of its own pays for loading the service's
// modules and for V8's warm-up of the same code each time, about two CPU-seconds before its first
// test and more again until its code is hot (twelve files of test/api cost 85 CPU-s as twelve
// processes, 29 as one). So the files of a folder run one after another in one process (a batch,
// at most BATCH_FILES files), and the batches run side by side. Files are written to be isolated
// (own database, own queue prefix, every service closed when its test ends), so sharing a process
// changes nothing they assert; the few process-wide things (the metrics registry) are read as
// differences.
const BATCH_FILES = 8;
// Files that get a process of their own: their cost is in the processes and stores they start,
// or they are long enough to fill a core alone, so sharing would only make their batch the last
// to finish.
const OWN_PROCESS = [
  'test/client/pack.test.ts',
  'test/api/fuzz.test.ts',
  'test/server.test.ts',
  'test/client/cli.test.ts',
  'test/chaos/',
  'test/jobs/promote-resume.test.ts',
  'test/ui/dashboard.test.ts',
  'test/replay/',
];
// The order the batches start in (a batch is placed by its first file; the longest entry that
// matches wins): longest wall time first, so that none of the long ones starts last and runs
// alone at the end, and the batches that mostly wait (timeouts, leases, backoffs: test/jobs)
// early, where their waits overlap the others' work. Wall times of a run on 2 December (tmpfs
// cluster): 24-30 s for the first seven, 15-20 the next six, under 15 the rest.
const START_ORDER = [
  'test/client/pack.test.ts',
  'test/api/fuzz.test.ts',
  'test/jobs/',
  'test/chaos/',
  'test/client/client.test.ts', // the batch of small folders: client, db, ui routes, the top level
  'test/server.test.ts',
  'test/client/cli.test.ts',
  'test/model/',
  'test/eval/',
  'test/ui/dashboard.test.ts',
  'test/api/',
  'test/jobs/promote-resume.test.ts',
  'test/pipeline/',
  'test/llm/',
  'test/replay/',
  'test/lookup/',
  'test/model/version-map.test.ts',
];
const rank = (f: string, list: string[]) => {
  const matches = list.filter((p) => f.startsWith(p));
  const best = matches.sort((x, y) => y.length - x.length)[0];
  return best === undefined ? list.length : list.indexOf(best);
};

/** The suite's files in batches, each a list of files that share one process, in the order they start. */
export function batches(all: string[]): string[][] {
  const own = all.filter((f) => rank(f, OWN_PROCESS) < OWN_PROCESS.length);
  const byFolder = new Map<string, string[]>();
  for (const f of all.filter((x) => !own.includes(x))) byFolder.set(path.dirname(f), [...(byFolder.get(path.dirname(f)) ?? []), f]);
  // Folders of one or two files (what is left of test/client, test/ui, test/db, the top level) go
  // together: alone, each would pay a process's start for a few tests.
  const folders = [...byFolder.values()];
  const small = folders.filter((f) => f.length <= 2).flat();
  const shared = [...folders.filter((f) => f.length > 2), ...(small.length ? [small] : [])].flatMap((folder) =>
    Array.from({ length: Math.ceil(folder.length / BATCH_FILES) }, (_, i) => folder.slice(i * BATCH_FILES, (i + 1) * BATCH_FILES)),
  );
  return [...own.map((f) => [f]), ...shared].sort((x, y) => rank(x[0]!, START_ORDER) - rank(y[0]!, START_ORDER));
}

/** Where scripts/build-tests.ts puts test file `f` (test/x.test.ts → <build>/test/x.test.js). */
export function compiledTest(build: string, f: string): string {
  return path.join(build, path.relative(process.cwd(), path.resolve(f))).replace(/\.ts$/, '.js');
}

/**
 * One entry file per batch, importing the batch's compiled test files in order: node:test then runs
 * their tests one after another in that process, and reports each failure at its own file and line
 * (source maps). node:test starts files in the sorted order of their paths, not in the order given,
 * so the entries' names begin with the batch's place in `groups`: that is what makes the longest
 * start first.
 */
export function batchEntries(build: string, groups: string[][]): string[] {
  const dir = path.join(build, 'batches');
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  const compiled = (f: string) => compiledTest(build, f);
  const width = String(groups.length).length;
  return groups.map((g, i) => {
    // a batch is named after its folder, a file alone after itself: 01-client-pack.test.js, 09-eval.test.js
    const what = g.length === 1 ? g[0]!.replace(/\.test\.ts$/, '') : path.dirname(g[0]!);
    const label = path.relative('test', what).replace(/[\\/]/g, '-') || 'top';
    const entry = path.join(dir, `${String(i + 1).padStart(width, '0')}-${label}.test.js`);
    // the entry sits in <build>/batches, one level below the compiled files' root
    const imports = g.map((f) => `import ${JSON.stringify(`../${path.relative(build, compiled(f)).split(path.sep).join('/')}`)};`);
    fs.writeFileSync(entry, `// Made by scripts/test.ts: these test files share this process.\n${imports.join('\n')}\n`);
    return entry;
  });
}
