// Picks the fastest TensorFlow.js backend that loads here. Order: native CUDA,
// native CPU (libtensorflow), wasm (XNNPACK, SIMD), plain JS cpu. The native
// packages are optional dependencies that fail to install without internet, so
// every step may throw; we fall through and remember why in `detail`.
import { tf, ensureGradients } from './tf.js';

export interface BackendInfo {
  name: 'tensorflow-gpu' | 'tensorflow' | 'wasm' | 'cpu';
  detail: string;
}
type Name = BackendInfo['name'];

export const BACKEND_ORDER: readonly Name[] = ['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'];

/** Loads and activates one backend, returning a human-readable detail, or throws. */
type BackendLoader = (opts: { wasmThreads?: number }) => Promise<string>;

// A string variable keeps TypeScript from resolving (and needing types for)
// packages that are usually absent.
async function importOptional(name: string): Promise<unknown> {
  return import(name);
}

const loaders: Record<Name, BackendLoader> = {
  'tensorflow-gpu': async () => {
    await importOptional('@tensorflow/tfjs-node-gpu');
    if (!(await tf.setBackend('tensorflow'))) throw new Error('tensorflow backend did not initialise');
    return 'tfjs-node-gpu (libtensorflow with CUDA)';
  },
  tensorflow: async () => {
    await importOptional('@tensorflow/tfjs-node');
    if (!(await tf.setBackend('tensorflow'))) throw new Error('tensorflow backend did not initialise');
    return 'tfjs-node (libtensorflow, CPU)';
  },
  wasm: async ({ wasmThreads }) => {
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    // Must be set before the backend initialises; ignored where the runtime
    // has no SharedArrayBuffer threads (Node runs the single-threaded build).
    if (wasmThreads && wasmThreads > 0) wasm.setThreadsCount(wasmThreads);
    if (!(await tf.setBackend('wasm'))) throw new Error('wasm backend did not initialise');
    const simd = tf.env().getBool('WASM_HAS_SIMD_SUPPORT');
    const mt = tf.env().getBool('WASM_HAS_MULTITHREAD_SUPPORT');
    return `tfjs-backend-wasm (simd=${simd}, threads=${mt ? wasm.getThreadsCount() : 1})`;
  },
  cpu: async () => {
    await import('@tensorflow/tfjs-backend-cpu');
    if (!(await tf.setBackend('cpu'))) throw new Error('cpu backend did not initialise');
    return 'tfjs-backend-cpu (plain JavaScript)';
  },
};

/**
 * Tries `order` with `load` until one succeeds. Pure apart from the loaders, so
 * the fallback logic is testable with fake loaders.
 */
export async function selectBackend(order: readonly Name[], load: (name: Name) => Promise<string>): Promise<BackendInfo> {
  const failures: string[] = [];
  for (const name of order) {
    try {
      const detail = await load(name);
      const skipped = failures.length ? `; skipped ${failures.join('; ')}` : '';
      return { name, detail: detail + skipped };
    } catch (err) {
      const msg = err instanceof Error ? err.message.split('\n')[0] : String(err);
      failures.push(`${name}: ${msg}`);
    }
  }
  throw new Error(`no TensorFlow.js backend loaded (${failures.join('; ')})`);
}

let current: BackendInfo | null = null;
let pending: Promise<BackendInfo> | null = null;

/**
 * Idempotent: the first call chooses, later calls return the same answer
 * (pass `force` to choose again, e.g. a benchmark comparing backends).
 * Also registers gradients, which training and refinement need.
 */
export function initBackend(opts: { prefer?: Name[]; wasmThreads?: number; force?: boolean } = {}): Promise<BackendInfo> {
  if (pending && !opts.force) return pending;
  const order = opts.prefer && opts.prefer.length ? opts.prefer : BACKEND_ORDER;
  pending = (async () => {
    const info = await selectBackend(order, (name) => loaders[name]({ wasmThreads: opts.wasmThreads }));
    await tf.ready();
    await ensureGradients();
    current = info;
    return info;
  })();
  // Handled: callers get the rejection from the returned promise; here it only clears the memo
  // so that a later call tries again instead of returning the same failure.
  pending.catch(() => {
    pending = null;
  });
  return pending;
}

/** initBackend's options for a configured choice: `auto` is the documented order; a named backend falls back to cpu. */
export function backendPreference(choice: 'auto' | Name): { prefer?: Name[] } {
  return choice === 'auto' ? {} : { prefer: choice === 'cpu' ? ['cpu'] : [choice, 'cpu'] };
}

export function currentBackend(): BackendInfo | null {
  return current;
}
