// A tiny HTTP proxy in front of a real service: it records every request that passes (method,
// path, headers, arrival time) and, when told to, answers the next matching request itself
// (e.g. 503 with Retry-After) instead of forwarding it. It stands in for the network and
// the load balancers between a client and the service, not for the service.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TestContext } from 'node:test';
import { defer } from './service.js';

export interface Seen {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  at: number;
  /** answered by the proxy itself (a fault), not by the service */
  faulted: boolean;
}

export interface Fault {
  /** the request this fault answers: a method and a path prefix (no query) */
  method: string;
  path: string;
  status: number;
  headers?: Record<string, string>;
  body?: unknown;
  /** forward the request first and drop the service's answer: the answer lost on the way back */
  afterForward?: boolean;
}

export interface FaultProxy {
  url: string;
  seen: Seen[];
  /** Answers the next request matching `f` with `f` instead of the service (faults are used up in order). */
  fail(f: Fault): void;
  /** The requests seen whose path (no query) starts with `path`. */
  to(method: string, path: string): Seen[];
}

export async function startFaultProxy(t: Pick<TestContext, 'after'>, target: string): Promise<FaultProxy> {
  const seen: Seen[] = [];
  const faults: Fault[] = [];
  const up = new URL(target);
  const matches = (f: { method: string; path: string }, method: string, url: string) =>
    f.method === method && (url.split('?')[0] ?? '').startsWith(f.path);
  const server = http.createServer((req, res) => {
    const method = req.method ?? 'GET';
    const url = req.url ?? '/';
    const i = faults.findIndex((f) => matches(f, method, url));
    const f = i >= 0 ? faults.splice(i, 1)[0] : undefined;
    seen.push({ method, url, headers: req.headers, at: Date.now(), faulted: f !== undefined });
    const answer = (f: Fault) => {
      res.writeHead(f.status, { 'content-type': 'application/json', ...f.headers });
      res.end(f.body === undefined ? '' : JSON.stringify(f.body));
    };
    if (f && !f.afterForward) {
      // the fault is answered once the request's body is in, as a real server would
      req.resume().on('end', () => answer(f));
      return;
    }
    const fwd = http.request({ host: up.hostname, port: up.port, method, path: url, headers: { ...req.headers, host: up.host } }, (up) => {
      if (f) {
        up.resume().on('end', () => answer(f));
        return;
      }
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    fwd.on('error', (err) => res.destroy(err));
    req.pipe(fwd);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  defer(t, () => new Promise<void>((resolve) => server.close(() => resolve())));
  defer(t, () => server.closeAllConnections());
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    fail: (f) => faults.push(f),
    to: (method, path) => seen.filter((s) => matches({ method, path }, s.method, s.url)),
  };
}
