// The dashboard's only way out: GET requests to this origin's /v1 routes, with the key as a
// bearer token and nothing else (no cookies, no referrer, no cache).

const KEY = 'emerflow.apiKey';

/** The key of this tab: sessionStorage, so it goes with the tab and never lands on disk for good. */
export const apiKey = {
  get: () => sessionStorage.getItem(KEY),
  set: (key) => sessionStorage.setItem(KEY, key),
  clear: () => sessionStorage.removeItem(KEY),
};

/** An answer that was not 2xx, with the service's error code and message when it sent one. */
export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/** GET /v1/… as JSON; `path` is made by the caller from encoded parts. */
export async function getJson(path, signal) {
  if (!path.startsWith('/v1/')) throw new Error(`not an API path: ${path}`);
  const key = apiKey.get();
  if (!key) throw new ApiError(401, 'unauthorized', 'an API key is required');
  const url = new URL(path, window.location.origin);
  let res;
  try {
    res = await fetch(url, {
      headers: { authorization: `Bearer ${key}`, accept: 'application/json' },
      credentials: 'omit',
      cache: 'no-store',
      referrerPolicy: 'no-referrer',
      signal,
    });
  } catch (err) {
    if (err.name === 'AbortError') throw err;
    throw new ApiError(0, 'unreachable', `the service did not answer (${err.message})`);
  }
  const body = await res.json().catch(() => null);
  if (!res.ok) {
    const code = body && typeof body.error === 'string' ? body.error : `http_${res.status}`;
    const message = body && typeof body.message === 'string' ? body.message : res.statusText;
    throw new ApiError(res.status, code, message);
  }
  return body;
}

/** A path from parts, each percent-encoded: `/v1/spaces/${id}` for any id. */
export const v1 = (...parts) => `/v1/${parts.map((p) => encodeURIComponent(String(p))).join('/')}`;
