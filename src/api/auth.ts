// Who may do what. Every /v1 route needs `Authorization: Bearer <key>` (401 without a valid
// key, 403 without the scope); a key limited to some spaces gets 404 for every other space,
// as if it did not exist. /healthz, /readyz, /docs, /openapi.json and the dashboard's files (/ui) are open; /metrics
// needs `metrics` (or `admin`). The scope of every route is in ROUTE_SCOPES below, and a
// route missing from it cannot be registered: nothing is open by accident. The write routes
// in SIGNABLE_ROUTES also take a signed request instead of a key (auth/webhook-signature.ts):
// it acts with the `write` scope on its own space only. A worker-only process's /healthz,
// /readyz and /metrics are guarded by this same plugin (app.ts, workerHttp).
import fp from 'fastify-plugin';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { allows, hashKey, mayUseSpace, type KeyStore, type Principal, type Scope } from '../auth/keys.js';
import { SIGNATURE_HEADER, SIGNATURE_WINDOW_S, verify } from '../auth/webhook-signature.js';
import type { Db } from '../db/pool.js';
import { activeWebhookSecrets, forgetDelivery, recordDelivery } from '../db/webhooks.js';
import { ApiError, notFound } from './errors.js';

export const ROUTE_SCOPES: Record<string, Scope | 'open'> = {
  'GET /healthz': 'open',
  'GET /readyz': 'open',
  'GET /openapi.json': 'open',
  'GET /metrics': 'metrics',
  // the dashboard's page and files: nothing in them is secret; its data comes from /v1 with a key
  'GET /ui': 'open',
  'GET /ui/*': 'open',
  'POST /v1/spaces': 'admin',
  'GET /v1/spaces': 'read',
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
  'GET /v1/spaces/:space/jobs': 'read',
  'POST /v1/spaces/:space/versions': 'admin',
  'POST /v1/spaces/:space/versions/:v/promote': 'admin',
  'DELETE /v1/spaces/:space/versions/:v': 'admin',
  'GET /v1/spaces/:space/models': 'read',
  'GET /v1/spaces/:space/quality': 'read',
  'POST /v1/spaces/:space/models/:modelVersion/activate': 'admin',
  'POST /v1/keys': 'admin',
  'GET /v1/keys': 'admin',
  'DELETE /v1/keys/:id': 'admin',
  'POST /v1/spaces/:space/webhook-secrets': 'admin',
  'GET /v1/spaces/:space/webhook-secrets': 'admin',
  'DELETE /v1/spaces/:space/webhook-secrets/:id': 'admin',
  'POST /v1/spaces/:space/webhooks': 'admin',
  'GET /v1/spaces/:space/webhooks': 'admin',
  'DELETE /v1/spaces/:space/webhooks/:id': 'admin',
  'GET /v1/spaces/:space/webhooks/:id/deliveries': 'admin',
};

/** The write routes a catalogue or event pipeline may call signed instead of with a key. */
export const SIGNABLE_ROUTES = new Set([
  'POST /v1/spaces/:space/users',
  'POST /v1/spaces/:space/items',
  'POST /v1/spaces/:space/interactions',
]);

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null;
    /** The raw JSON body, kept only for a signed request (the MAC is over these bytes). */
    rawBody?: string;
    /** A signed request: its header until checked, then the signature it was accepted with. */
    webhook?: { header: string; space?: string; mac?: string };
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

/**
 * The principal of an `Authorization` header, or null. A ranker sends the same key on every
 * request of a kept-alive connection: its hash and what it may do are kept with the
 * connection (and go with it) until the header changes or the keys in force are reloaded
 * (KeyStore.generation, every KEY_REFRESH_MS and on every create or revoke), so a
 * revocation reaches a kept-alive connection as soon as it reaches the process. Hashing, and
 * the admin key's constant-time comparison, are a measurable share of a cached lookup. Also
 * used by the lookups' fast lanes (fast-lane.ts).
 */
export function keyPrincipals(keys: KeyStore): (connection: object, header: string) => Principal | null {
  const memos = new WeakMap<object, { header: string; hash: string | null; generation: object | null; principal: Principal | null }>();
  return (connection, header) => {
    let memo = memos.get(connection);
    if (memo?.header !== header) {
      const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
      memo = { header, hash: m?.[1] ? hashKey(m[1]) : null, generation: null, principal: null };
      memos.set(connection, memo);
    }
    if (memo.hash === null) return null;
    const generation = keys.generation;
    if (memo.generation !== generation) {
      memo.principal = keys.checkHash(memo.hash);
      memo.generation = generation;
    }
    return memo.principal;
  };
}

const isDocs = (url: string) => url === '/docs' || url.startsWith('/docs/');

async function auth(app: FastifyInstance, opts: { keys: KeyStore; db: Db }): Promise<void> {
  app.decorateRequest('principal', null);
  const { verifySignature, forgetFailed } = signatureHooks(opts.db);
  app.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    for (const m of methods) {
      if (m === 'HEAD' || m === 'OPTIONS' || isDocs(route.url)) continue;
      if (!(`${m} ${route.url}` in ROUTE_SCOPES)) throw new Error(`route ${m} ${route.url} has no scope in ROUTE_SCOPES (src/api/auth.ts)`);
    }
    // Only the signable routes pay for the signature hooks (the lookups are the hot path).
    if (methods.some((m) => SIGNABLE_ROUTES.has(`${m} ${route.url}`))) {
      route.preValidation = [...asArray(route.preValidation), verifySignature] as typeof route.preValidation;
      route.onResponse = [...asArray(route.onResponse), forgetFailed] as typeof route.onResponse;
    }
  });
  const principalOf = keyPrincipals(opts.keys);
  // Callback style: every request passes here, and a promise per request is measurable on the
  // lookup path; `admit` throws what the caller is answered.
  app.addHook('onRequest', function admitByKey(req, _reply, done) {
    try {
      admit(req);
    } catch (err) {
      return done(err as Error);
    }
    done();
  });
  const admit = (req: FastifyRequest): void => {
    const route = req.routeOptions.url;
    const path = req.url.split('?')[0] ?? req.url;
    const scope = route ? ROUTE_SCOPES[`${req.method} ${route}`] : undefined;
    if (scope === 'open' || (route && isDocs(route)) || (!route && !path.startsWith('/v1') && path !== '/metrics')) return;
    const header = req.headers.authorization;
    const signature = req.headers[SIGNATURE_HEADER];
    if (header === undefined && typeof signature === 'string' && route && SIGNABLE_ROUTES.has(`${req.method} ${route}`)) {
      req.webhook = { header: signature }; // checked once the body is read (preValidation)
      return;
    }
    const found = typeof header === 'string' ? principalOf(req.raw.socket, header) : null;
    if (!found)
      throw new ApiError(401, 'unauthorized', header ? 'the API key is not valid' : 'an API key is required: Authorization: Bearer <key>');
    req.principal = found;
    // An unknown /v1 route answers 404 once the caller is known.
    if (!scope) return;
    if (!allows(found, scope)) throw new ApiError(403, 'forbidden', `this key lacks the "${scope}" scope`);
    const space = (req.params as { space?: unknown } | undefined)?.space;
    if (typeof space === 'string') requireSpaceAccess(req, space);
  };
}
/** Checks a signed request once its body is read; on the SIGNABLE_ROUTES only (see onRoute). */
function signatureHooks(db: Db) {
  const verifySignature = async (req: FastifyRequest) => {
    if (!req.webhook) return;
    const space = (req.params as { space: string }).space;
    const verdict = verify(req.webhook.header, req.rawBody ?? '', await activeWebhookSecrets(db, space));
    if (!verdict.ok) throw new ApiError(401, `signature_${verdict.reason}`, SIGNATURE_REFUSALS[verdict.reason]);
    if (!(await recordDelivery(db, space, verdict.mac, 2 * SIGNATURE_WINDOW_S)))
      throw new ApiError(409, 'replayed', 'this signed request was already accepted; sign each delivery anew');
    req.webhook = { header: req.webhook.header, space, mac: verdict.mac };
    req.principal = { keyId: `webhook:${verdict.secretId}`, scopes: new Set(['write']), spaces: new Set([space]) };
  };
  // A signed request that failed on our side may be sent again as it was.
  const forgetFailed = async (req: FastifyRequest, reply: FastifyReply) => {
    const w = req.webhook;
    if (!w?.mac || !w.space || reply.statusCode < 500) return;
    await forgetDelivery(db, w.space, w.mac).catch((err: Error) =>
      req.log.warn({ err: err.message }, 'a failed signed request stays recorded; its sender must re-sign to retry'),
    );
  };
  return { verifySignature, forgetFailed };
}

const asArray = <T>(v: T | T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

const SIGNATURE_REFUSALS = {
  malformed: `${SIGNATURE_HEADER} must be t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`,
  expired: `the signature's timestamp is more than ${SIGNATURE_WINDOW_S} s from now`,
  mismatch: "the signature does not match the body under any of this space's webhook secrets",
} as const;

export const authPlugin = fp(auth, { name: 'emerflow-auth' });
