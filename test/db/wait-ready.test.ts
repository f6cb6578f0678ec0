// Start-up waits out a Postgres that is restarting, and only that.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isTransientDbError } from '../../src/db/errors.js';
import { untilDbReady } from '../../src/db/wait-ready.js';

const pgError = (code: string, message = code) => Object.assign(new Error(message), { code });
const quiet = { info: () => undefined };

test('transient: connection, shutdown, resources, rollback classes and socket failures; not data or conflicts', () => {
  for (const code of ['08006', '57P01', '57P03', '53300', '40P01', '40001', '58030', 'ECONNREFUSED', 'ECONNRESET'])
    assert.equal(isTransientDbError(pgError(code)), true, code);
  assert.equal(isTransientDbError(new Error('Connection terminated unexpectedly')), true);
  for (const code of ['22021', '23505', '42P01', '42601', 'ERR_X']) assert.equal(isTransientDbError(pgError(code)), false, code);
  assert.equal(isTransientDbError(null), false);
});

test('untilDbReady retries transient failures, then returns what fn returns', async () => {
  let calls = 0;
  const out = await untilDbReady(
    'test',
    async () => {
      if (++calls < 3) throw pgError('57P03', 'the database system is starting up');
      return 'ready';
    },
    { deadlineMs: 10_000, log: quiet },
  );
  assert.equal(out, 'ready');
  assert.equal(calls, 3);
});

test('untilDbReady fails at once on an error that will not pass', async () => {
  let calls = 0;
  const err = pgError('42P01', 'relation "x" does not exist');
  await assert.rejects(
    untilDbReady(
      'test',
      async () => {
        calls++;
        throw err;
      },
      { deadlineMs: 10_000, log: quiet },
    ),
    (e) => e === err,
  );
  assert.equal(calls, 1);
});

test('untilDbReady gives up with the last error once the deadline would pass', async () => {
  let calls = 0;
  await assert.rejects(
    untilDbReady(
      'test',
      async () => {
        calls++;
        throw pgError('57P01', 'terminating connection due to administrator command');
      },
      { deadlineMs: 0, log: quiet },
    ),
    /administrator command/,
  );
  assert.equal(calls, 1);
});
