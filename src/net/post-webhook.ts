// One attempt of an outbound webhook delivery: a POST of the given bytes, bounded in time
// from connect to the end of the answer, and what came of it. Never throws: a failure is an
// outcome with the receiver's status or a stable error code (what the delivery log shows).
// The answer's body is read and discarded (a receiver cannot make us buffer it), redirects
// are not followed (a 3xx is a failure like any other non-2xx), and unless private addresses
// are allowed the socket connects only to a public address (net/private-address.ts).
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { parseRetryAfter } from '../llm/errors.js';
import { hostOf, isPrivateAddress, PrivateAddressError, publicLookup } from './private-address.js';

export type PostOutcome = { ok: true; status: number } | { ok: false; status: number | null; error: string | null; retryAfterMs?: number };

export interface PostOptions {
  timeoutMs: number;
  allowPrivate: boolean;
}

class Timeout extends Error {}

const failed = (error: string): PostOutcome => ({ ok: false, status: null, error });

export function postWebhook(url: string, headers: Record<string, string>, body: string, o: PostOptions): Promise<PostOutcome> {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return Promise.resolve(failed('invalid_url'));
  }
  const host = hostOf(u);
  // An IP literal is connected to without a lookup, so it is checked here.
  if (!o.allowPrivate && net.isIP(host) && isPrivateAddress(host)) return Promise.resolve(failed('private_address'));
  const send = u.protocol === 'https:' ? https.request : http.request;
  return new Promise((resolve) => {
    let done = false;
    let timedOut = false;
    let req: http.ClientRequest | undefined;
    const timer = setTimeout(() => {
      timedOut = true;
      req?.destroy(new Timeout(`no complete answer within ${o.timeoutMs} ms`));
    }, o.timeoutMs);
    const finish = (r: PostOutcome) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve(r);
    };
    // the answer's stream may fail before the request reports our own timeout
    const fail = (err: Error) => finish(failed(timedOut ? 'timeout' : errorCode(err)));
    try {
      req = send(u, {
        method: 'POST',
        headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
        // a connection per attempt: nothing pooled outlives the address check it was made under
        agent: false,
        ...(o.allowPrivate ? {} : { lookup: publicLookup }),
      });
    } catch {
      return finish(failed('invalid_url')); // what http.request refuses at once is in the URL
    }
    req.on('response', (res) => {
      const status = res.statusCode ?? 0;
      res.resume(); // read and drop the body
      res.on('error', fail);
      // closed before its end without an error: cut off (after 'end', finish does nothing)
      res.on('close', () => finish(failed(timedOut ? 'timeout' : 'connection_reset')));
      res.on('end', () => {
        if (status >= 200 && status < 300) return finish({ ok: true, status });
        const retryAfter = res.headers['retry-after'];
        const retryAfterMs =
          (status === 429 || status === 503) && retryAfter ? parseRetryAfter(new Headers({ 'retry-after': retryAfter })) : undefined;
        finish({ ok: false, status, error: null, ...(retryAfterMs === undefined ? {} : { retryAfterMs }) });
      });
    });
    req.on('error', fail);
    req.end(body);
  });
}

/** A stable code for a failure to get an answer; the socket's own words stay out of the log. */
function errorCode(err: Error): string {
  if (err instanceof PrivateAddressError) return 'private_address';
  const code = (err as NodeJS.ErrnoException).code ?? '';
  if (code === 'ECONNREFUSED') return 'connection_refused';
  if (code === 'ECONNRESET' || code === 'EPIPE' || code === 'ERR_STREAM_PREMATURE_CLOSE') return 'connection_reset';
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'EAI_FAIL') return 'dns_error';
  if (code === 'EHOSTUNREACH' || code === 'ENETUNREACH') return 'unreachable';
  if (code.startsWith('HPE_')) return 'bad_response'; // not HTTP
  if (/CERT|TLS|SSL|SELF_SIGNED/.test(code)) return 'tls_error';
  return 'network_error';
}
