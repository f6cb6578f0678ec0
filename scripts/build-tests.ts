// Compiles src/ and test/ to plain JavaScript for `npm test`. Under the tsx loader every
// test process pays for its hooks thread and the per-module round trips to it: about
// half the CPU of a service test on two cores. esbuild (the transformer tsx itself uses)
// makes the same JavaScript once for the whole suite in well under a second; source maps
// keep stack traces pointing at the .ts lines.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

export const TEST_BUILD_DIR = '.test-build';

function filesUnder(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? filesUnder(p) : [p];
  });
}

/** Builds into `<root>/.test-build` (same layout, .ts → .js) and returns that directory. */
export async function buildTests(root: string): Promise<string> {
  const out = path.join(root, TEST_BUILD_DIR);
  fs.rmSync(out, { recursive: true, force: true });
  const sources = ['src', 'test'].flatMap((d) => filesUnder(path.join(root, d)));
  // tfjs-core's gradient registrations as one module (see EMERFLOW_TF_GRADIENTS_BUNDLE in
  // src/model/tf.ts): its own copy of the ops they call, which act on the one engine and the
  // registries tfjs-core keeps on the global object, so the gradients land where the backends' kernels are.
  const gradients = path.join(out, 'tf-gradients.js');
  await build({
    entryPoints: [fileURLToPath(import.meta.resolve('@tensorflow/tfjs-core/dist/register_all_gradients.js'))],
    outfile: gradients,
    bundle: true,
    // every module the entry imports is kept, as Node would run them all (tfjs-core marks itself free of side effects)
    ignoreAnnotations: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    logLevel: 'warning',
  });
  const tfModule = path.join(out, 'src/model/tf.js');
  await build({
    entryPoints: sources.filter((f) => f.endsWith('.ts')),
    outdir: out,
    outbase: root,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    sourcemap: true,
    logLevel: 'warning',
    define: { EMERFLOW_TF_GRADIENTS_BUNDLE: JSON.stringify(path.relative(path.dirname(tfModule), gradients).split(path.sep).join('/')) },
  });
  // Plain JavaScript modules (loader hooks, the training thread's boot file) as they are.
  for (const f of sources.filter((s) => s.endsWith('.mjs'))) fs.copyFileSync(f, path.join(out, path.relative(root, f)));
  // Code that finds files relative to itself (the migrations) finds the same ones.
  fs.symlinkSync(path.join(root, 'migrations'), path.join(out, 'migrations'));
  return out;
}
