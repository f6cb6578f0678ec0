// Node module-resolution hook, registered by tf.ts before it imports tfjs-core's
// gradient definitions. Why: the package's CommonJS bundle (its "main") ships no
// gradient functions; they only exist as per-file ESM under dist/ whose relative
// imports omit ".js" (written for bundlers), which Node's ESM loader rejects.
// The hook adds the extension for files inside tfjs-core/dist only.
export async function resolve(specifier, context, next) {
  const parent = context.parentURL ?? '';
  if (parent.includes('/@tensorflow/tfjs-core/dist/') && specifier.startsWith('.') && !specifier.endsWith('.js')) {
    try {
      return await next(`${specifier}.js`, context);
    } catch {
      // Not a file: the specifier names a folder. If its index.js is missing too, that error is
      // the one the importer sees, so nothing is lost by dropping this one.
      return next(`${specifier}/index.js`, context);
    }
  }
  return next(specifier, context);
}
