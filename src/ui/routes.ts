// GET /ui: the dashboard, plain files served from memory by the API process. There is no
// build step: the page is static HTML, CSS and JavaScript modules that read /v1 with the key
// the user types in. The files are read once, when the routes are registered: a request
// names a file only by a key of that map, so no path from a URL ever reaches the filesystem.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';

const HERE = path.dirname(fileURLToPath(import.meta.url));
/**
 * Where the files are: beside this module in the source tree; the compiled copy the tests run
 * (.test-build/src/ui, scripts/build-tests.ts) holds JavaScript made from .ts files only, so it
 * reads them from the source tree three levels up, as test/support/processes.ts finds the root.
 */
export const UI_DIR = fs.existsSync(path.join(HERE, 'static', 'index.html'))
  ? path.join(HERE, 'static')
  : path.resolve(HERE, '../../../src/ui/static');

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
};

/**
 * Scripts and styles from this origin only (no inline ones, no eval), data only from this
 * origin's API, nothing framed, no forms sent anywhere, no <base> to redirect relative URLs.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

interface UiFile {
  body: Buffer;
  type: string;
  etag: string;
}

function readFiles(dir: string): Map<string, UiFile> {
  const files = new Map<string, UiFile>();
  for (const name of fs.readdirSync(dir)) {
    const type = TYPES[path.extname(name)];
    if (!type) continue; // only the kinds of file the page is made of
    const body = fs.readFileSync(path.join(dir, name));
    files.set(name, { body, type, etag: `"${crypto.createHash('sha256').update(body).digest('base64url').slice(0, 22)}"` });
  }
  if (!files.has('index.html')) throw new Error(`the dashboard's index.html is missing from ${dir}`);
  return files;
}

export const uiRoutes: FastifyPluginAsync = async (app) => {
  const files = readFiles(UI_DIR);
  const send = (req: FastifyRequest, reply: FastifyReply, name: string) => {
    const f = files.get(name);
    if (!f) return reply.status(404).type('text/plain; charset=utf-8').send('not found\n');
    // The names carry no content hash (no build step), so a browser asks again every time
    // and an unchanged file costs a 304.
    reply
      .header('cache-control', 'no-cache')
      .header('etag', f.etag)
      .header('content-security-policy', CONTENT_SECURITY_POLICY)
      .header('x-content-type-options', 'nosniff')
      .header('referrer-policy', 'no-referrer')
      .header('cross-origin-opener-policy', 'same-origin')
      .header('cross-origin-resource-policy', 'same-origin');
    if (req.headers['if-none-match'] === f.etag) return reply.status(304).send();
    return reply.type(f.type).send(f.body);
  };
  app.get('/ui', { schema: { hide: true } }, (req, reply) => send(req, reply, 'index.html'));
  app.get<{ Params: { '*': string } }>('/ui/*', { schema: { hide: true } }, (req, reply) =>
    send(req, reply, req.params['*'] === '' ? 'index.html' : req.params['*']),
  );
};
