// What a command is given: the client (made on first use, so that --help needs no key),
// stdout for its answer, stderr for progress and diagnostics.
import type { Writable } from 'node:stream';
import { createClient, type EmerFlowClient } from '../client/index.js';
import { UsageError } from './exit.js';

export interface Io {
  client(): EmerFlowClient;
  out(text: string): void;
  /** stderr, with isTTY: a progress bar there when a person watches, plain lines when a log does */
  err: Writable & { isTTY?: boolean; columns?: number };
}

/** The Io of a process: its environment, stdout and stderr (or, in a test, streams in their place). */
export function processIo(env: NodeJS.ProcessEnv, stdout: Writable = process.stdout, stderr: Io['err'] = process.stderr): Io {
  let client: EmerFlowClient | undefined;
  return {
    client() {
      const apiKey = env['EMERFLOW_KEY'];
      if (!apiKey) throw new UsageError('EMERFLOW_KEY is not set: export EMERFLOW_KEY=<an API key>');
      client ??= createClient({ baseUrl: env['EMERFLOW_URL'] || 'http://localhost:8080', apiKey });
      return client;
    },
    out: (text) => stdout.write(text.endsWith('\n') ? text : `${text}\n`),
    err: stderr,
  };
}

/** JSON for people and for jq alike. */
export const pretty = (v: unknown) => JSON.stringify(v, null, 2);
