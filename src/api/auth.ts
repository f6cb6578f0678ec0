// Who may do what. Every /v1 route needs `Authorization: Bearer <key>` (401 without a valid
// key, 403 without the scope); a key limited to some spaces gets 404 for every other space,
// as if it did not exist. /healthz, /readyz, /docs and /openapi.json are open; /metrics
// needs `metrics` (or `admin`). The scope of every route is in ROUTE_SCOPES below, and a
// route missing from it cannot be registered: nothing is open by accident.
import fp from 'fastify-plugin';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { allows, mayUseSpace, type KeyStore, type Principal, type Scope } from '../auth/keys.js';
import { ApiError, notFound } from './errors.js';

export const ROUTE_SCOPES: Record<string, Scope | 'open'> = {
  'GET /healthz': 'open',
  'GET /readyz': 'open',
  'GET /openapi.json': 'open',
  'GET /metrics': 'metrics',
  'POST /v1/spaces': 'admin',
  'GET /v1/spaces/:space': 'read',
  'PUT /v1/spaces/:space/aux-features': 'admin',
  'POST /v1/spaces/:space/users': 'write',
  'POST /v1/spaces/:space/items': 'write',
  'GET /v1/spaces/:space/items/:id': 'read',
  'DELETE /v1/spaces/:space/items/:id': 'admin',
  'POST /v1/spaces/:space/interactions': 'write',
  'GET /v1/spaces/:space/items/:id/embedding': 'read',
  'POST /v1/spaces/:space/embeddings/lookup': 'read',
  'POST /v1/spaces/:space/train': 'admin',
  'GET /v1/jobs/:id': 'read',
  'POST /v1/keys': 'admin',
  'GET /v1/keys': 'admin',
  'DELETE /v1/keys/:id': 'admin',
};

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null;
  }
}

/** The caller's principal; routes behind the hook always have one. */
export function principal(req: FastifyRequest): Principal {
  if (!req.principal) throw new ApiError(401, 'unauthorized', 'an API key is required');
  return req.principal;
}

/** 404 (as if it did not exist) when the caller's key is limited to other spaces. */
export function requireSpaceAccess(req: FastifyRequest, space: string, what = `space "${space}"`): void {
  if (!mayUseSpace(principal(req), space)) throw notFound(what);
}

const isDocs = (url: string) => url === '/docs' || url.startsWith('/docs/');

async function auth(app: FastifyInstance, opts: { keys: KeyStore }): Promise<void> {
  app.decorateRequest('principal', null);
  app.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    for (const m of methods) {
      if (m === 'HEAD' || m === 'OPTIONS' || isDocs(route.url)) continue;
      if (!(`${m} ${route.url}` in ROUTE_SCOPES)) throw new Error(`route ${m} ${route.url} has no scope in ROUTE_SCOPES (src/api/auth.ts)`);
    }
  });
  app.addHook('onRequest', async (req) => {
    const route = req.routeOptions.url;
    const path = req.url.split('?')[0] ?? req.url;
    const scope = route ? ROUTE_SCOPES[`${req.method} ${route}`] : undefined;
    if (scope === 'open' || (route && isDocs(route)) || (!route && !path.startsWith('/v1') && path !== '/metrics')) return;
    const header = req.headers.authorization;
    const m = typeof header === 'string' ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
    const found = m?.[1] ? opts.keys.check(m[1]) : null;
    if (!found)
      throw new ApiError(401, 'unauthorized', header ? 'the API key is not valid' : 'an API key is required: Authorization: Bearer <key>');
    req.principal = found;
    // An unknown /v1 route answers 404 once the caller is known.
    if (!scope) return;
    if (!allows(found, scope)) throw new ApiError(403, 'forbidden', `this key lacks the "${scope}" scope`);
    const space = (req.params as { space?: unknown } | undefined)?.space;
    if (typeof space === 'string') requireSpaceAccess(req, space);
  });
}

export const authPlugin = fp(auth, { name: 'emerflow-auth' });
