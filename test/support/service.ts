// Builds a real service for a test: its own database (created on the test Postgres),
// its own BullMQ prefix on the test Redis, and everything closed when the test ends.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import type { TestContext } from 'node:test';
import type { FastifyInstance, InjectOptions } from 'fastify';
import pg from 'pg';
import type { DestinationStream } from 'pino';
import { loadConfig, type Config } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { startService, type Service } from '../../src/service.js';

const stacks = new WeakMap<object, (() => Promise<void> | void)[]>();

/** Like t.after, but last registered runs first (close the service before dropping its database). */
export function defer(t: Pick<TestContext, 'after'>, fn: () => Promise<void> | void): void {
  let stack = stacks.get(t);
  if (!stack) {
    const s: (() => Promise<void> | void)[] = [];
    stacks.set(t, s);
    stack = s;
    t.after(async () => {
      for (const f of s.reverse()) await f();
    });
  }
  stack.push(fn);
}

/** A temporary folder, removed when the test ends. */
export function tempDir(t: Pick<TestContext, 'after'>, prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  defer(t, () => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Listens on a free loopback port, for what talks to the service over a socket; its base URL. */
export async function listenOnLoopback(app: FastifyInstance): Promise<string> {
  await app.listen({ port: 0, host: '127.0.0.1' });
  return `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
}

function need(name: string): string {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: run the tests with \`npm test\`, which starts Postgres and Redis`);
  return v;
}

/** A fresh database on the test server; dropped when the test ends. */
export async function freshDatabase(t: Pick<TestContext, 'after'>): Promise<string> {
  const base = new URL(need('DATABASE_URL'));
  const name = `t_${crypto.randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: base.toString() });
  await admin.connect();
  // a copy of the migrated template `npm test` made, when there is one
  const template = process.env['TEST_TEMPLATE_DB'];
  // FILE_COPY copies the template's files instead of logging every block (the default,
  // WAL_LOG): 16 vs 88 ms a database here, and the suite makes about a hundred.
  await admin.query(template ? `CREATE DATABASE ${name} TEMPLATE ${template} STRATEGY FILE_COPY` : `CREATE DATABASE ${name}`);
  await admin.end();
  defer(t, async () => {
    const c = new pg.Client({ connectionString: base.toString() });
    await c.connect();
    // A database left behind only costs disk in the throwaway test server; say so and go on.
    await c
      .query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
      .catch((err: Error) => console.error(`could not drop ${name}: ${err.message}`));
    await c.end();
  });
  const url = new URL(base.toString());
  url.pathname = `/${name}`;
  return url.toString();
}

export interface TestService extends Service {
  config: Config;
}

/** The admin key of every test service; requests made with its inject (app or http) carry it unless they set their own. */
export const TEST_ADMIN_KEY = 'test-admin-key-not-secret';

export async function startTestService(
  t: Pick<TestContext, 'after'>,
  env: Record<string, string> = {},
  opts: { databaseUrl?: string; prefix?: string; logTo?: DestinationStream } = {},
): Promise<TestService> {
  const config = loadConfig({
    DATABASE_URL: opts.databaseUrl ?? (await freshDatabase(t)),
    REDIS_URL: need('REDIS_URL'),
    QUEUE_PREFIX: opts.prefix ?? `t${crypto.randomBytes(4).toString('hex')}`,
    LOG_LEVEL: process.env['TEST_LOG_LEVEL'] ?? 'silent',
    TASK_LEASE_MS: '3000',
    ADMIN_API_KEY: TEST_ADMIN_KEY,
    // Service tests are about the service, not the model: a few epochs train it in well under a second.
    TRAIN_PRESET: 'quick',
    // The API, the workers and the test's own client share this process on oversubscribed
    // cores here, so a lag says nothing about the API; the shedding test sets its own limits.
    SHED_EVENT_LOOP_DELAY_MS: '0',
    ...env,
  });
  const service = await startService(config, createLogger(config.LOG_LEVEL, opts.logTo));
  defer(t, () => service.close());
  withAdminKey(service.http);
  return service;
}

/** Polls until `fn` returns a truthy value, or fails with what it last saw. */
export async function waitFor<T>(
  fn: () => Promise<T | null | undefined | false>,
  what: string,
  timeoutMs = 20_000,
): Promise<NonNullable<Exclude<T, false>>> {
  const start = Date.now();
  for (;;) {
    const v = await fn();
    if (v) return v as NonNullable<Exclude<T, false>>;
    if (Date.now() - start > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Makes inject send the admin key unless a request names its own authorization (even ''). */
function withAdminKey(app: Service['http']): void {
  const raw = app.inject.bind(app) as (opts: InjectOptions) => ReturnType<typeof app.inject>;
  app.inject = ((opts: InjectOptions) => {
    const headers = (opts.headers ?? {}) as Record<string, string>;
    return raw('authorization' in headers ? opts : { ...opts, headers: { ...headers, authorization: `Bearer ${TEST_ADMIN_KEY}` } });
  }) as typeof app.inject;
}
