// The exit codes scripts can rely on (listed in `emerflow --help`), and the errors that map to them.
import { EmerFlowError } from '../client/errors.js';

export const EXIT = {
  ok: 0,
  /** the service answered with an error, or could not be reached */
  failed: 1,
  /** the command line is wrong (unknown command or flag, a missing argument, an unreadable file) */
  usage: 2,
  /** import: some rows were rejected (the rest were sent) */
  rejected: 3,
  /** the space, item, job or key does not exist */
  notFound: 4,
} as const;

/** A mistake in the command line: exit 2, with the message and a pointer to --help. */
export class UsageError extends Error {}

/** Something named on the command line does not exist, found out before asking for it (exit 4). */
export class NotFound extends Error {}

/** The exit code and the line to print for an error that ended a command. */
export function failure(err: unknown): { code: number; message: string } {
  if (err instanceof UsageError) return { code: EXIT.usage, message: `${err.message} (emerflow --help)` };
  if (err instanceof NotFound) return { code: EXIT.notFound, message: err.message };
  if (err instanceof EmerFlowError) {
    const code = err.status === 404 ? EXIT.notFound : EXIT.failed;
    const status = err.status ? `${err.status} ` : '';
    return { code, message: `${status}${err.code}: ${err.message} (request ${err.requestId})` };
  }
  return { code: EXIT.failed, message: err instanceof Error ? err.message : String(err) };
}
