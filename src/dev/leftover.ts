// A server this machine started for an earlier run that was killed (SIGKILL leaves the
// embedded Postgres and the local redis-server running, holding the data directory). The
// next start stops it first: two servers must never share one data directory or AOF.
import fs from 'node:fs';

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false; // no such process (or not ours to signal): nothing to stop
  }
};

/**
 * Stops the process named by the first line of `pidFile` if it is alive and its command
 * line contains `name` (a recycled pid of something else is left alone). Fast shutdown
 * first (`signal`), SIGKILL after `graceMs`. Returns whether there was one to stop.
 */
export async function stopLeftover(pidFile: string, name: string, signal: NodeJS.Signals, graceMs = 15_000): Promise<boolean> {
  if (!fs.existsSync(pidFile)) return false;
  const pid = Number(fs.readFileSync(pidFile, 'utf8').split('\n')[0]);
  if (!Number.isInteger(pid) || pid <= 0 || !alive(pid)) return false;
  const cmdline = fs.existsSync(`/proc/${pid}/cmdline`) ? fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8') : '';
  if (!cmdline.includes(name)) return false;
  process.kill(pid, signal);
  const deadline = Date.now() + graceMs;
  while (alive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  if (alive(pid)) process.kill(pid, 'SIGKILL');
  while (alive(pid)) await new Promise((r) => setTimeout(r, 50));
  return true;
}
