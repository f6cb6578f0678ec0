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
// or they are long enough to fill a core alone, so they are started first and sharing would only
// make their batch the last to finish. The rest of the order: the longest batches first, so none
// of them starts last and runs alone at the end.
const OWN_PROCESS = [
  // in the order of their wall time in a clean-clone run (2 December, after batching): 54, 53, 40, 31, 30, 23, 21, 20 s
  'test/client/pack.test.ts',
  'test/api/fuzz.test.ts',
  'test/server.test.ts',
  'test/client/cli.test.ts',
  'test/chaos/',
  'test/jobs/promote-resume.test.ts',
  'test/ui/dashboard.test.ts',
  'test/replay/',
];
const LONGEST_FIRST = ['test/eval/', 'test/jobs/', 'test/api/', 'test/client/', 'test/pipeline/', 'test/model/'];
const rank = (f: string, list: string[]) => {
  const i = list.findIndex((p) => f.startsWith(p));
  return i < 0 ? list.length : i;
};

/** The suite's files in batches, each a list of files that share one process, longest first. */
export function batches(all: string[]): string[][] {
  const own = all.filter((f) => rank(f, OWN_PROCESS) < OWN_PROCESS.length).sort((a, b) => rank(a, OWN_PROCESS) - rank(b, OWN_PROCESS));
  const byFolder = new Map<string, string[]>();
  for (const f of all.filter((x) => !own.includes(x))) byFolder.set(path.dirname(f), [...(byFolder.get(path.dirname(f)) ?? []), f]);
  // Folders of one or two files (what is left of test/client, test/ui, test/db, the top level) go
  // together: alone, each would pay a process's start for a few tests.
  const folders = [...byFolder.values()].sort((a, b) => rank(a[0]!, LONGEST_FIRST) - rank(b[0]!, LONGEST_FIRST));
  const small = folders.filter((f) => f.length <= 2).flat();
  const shared = [...folders.filter((f) => f.length > 2), ...(small.length ? [small] : [])].flatMap((folder) =>
    Array.from({ length: Math.ceil(folder.length / BATCH_FILES) }, (_, i) => folder.slice(i * BATCH_FILES, (i + 1) * BATCH_FILES)),
  );
  return [...own.map((f) => [f]), ...shared];
}

/**
 * One entry file per batch of more than one file, importing the batch's compiled test files in order:
 * node:test then runs their tests one after another in that process, and reports each failure at its
 * own file and line (source maps).
 */
export function batchEntries(build: string, groups: string[][]): string[] {
  const dir = path.join(build, 'batches');
  fs.mkdirSync(dir, { recursive: true });
  const compiled = (f: string) => path.join(build, path.relative(process.cwd(), path.resolve(f))).replace(/\.ts$/, '.js');
  return groups.map((g, i) => {
    if (g.length === 1) return compiled(g[0]!);
    const name = `${String(i + 1).padStart(2, '0')}-${path.relative('test', path.dirname(g[0]!)).replace(/[\\/]/g, '-') || 'top'}.test.js`;
    const entry = path.join(dir, name);
    // the entry sits in <build>/batches, one level below the compiled files' root
    const imports = g.map((f) => `import ${JSON.stringify(`../${path.relative(build, compiled(f)).split(path.sep).join('/')}`)};`);
    fs.writeFileSync(entry, `// Made by scripts/test.ts: these test files share this process.\n${imports.join('\n')}\n`);
    return entry;
  });
}
