// A command run to its end as a child process, its output collected: for the tests that use
// what a consumer uses (the CLI, npm, a plain .mjs file). The test runner's own variables
// never reach the child; `env` is added to (or, with undefined, removes from) the rest.
import { spawn } from 'node:child_process';

export interface ChildRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function runChild(cmd: string, args: string[], opts: { cwd: string; env?: Record<string, string | undefined> }): Promise<ChildRun> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries({ ...process.env, NODE_TEST_CONTEXT: undefined, NODE_OPTIONS: undefined, ...opts.env }))
    if (v !== undefined) env[k] = v;
  const child = spawn(cmd, args, { cwd: opts.cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
  child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}
