// An API process (ROLE=api) beside a writer (ROLE=all) on one database and queue prefix, the
// writer with a seeded space: what the lookup-cache tests that need a process of its own
// start from (a preload, a refresh), and the process's metrics by name.
import type { TestContext } from 'node:test';
import crypto from 'node:crypto';
import { freshDatabase, startTestService, type TestService } from './service.js';
import { seedSpace } from './space.js';
import type { World } from './fixtures.js';

export async function writerAndReader(
  t: Pick<TestContext, 'after'>,
  readerEnv: Record<string, string>,
): Promise<{ writer: TestService; reader: TestService; world: World; metric: (name: string, labels?: string) => Promise<number> }> {
  const databaseUrl = await freshDatabase(t);
  const prefix = `t${crypto.randomBytes(4).toString('hex')}`;
  const writer = await startTestService(t, {}, { databaseUrl, prefix });
  const world = await seedSpace(writer.app!, { train: false }); // 30 established items: each serves its own vector
  const reader = await startTestService(t, { ROLE: 'api', ...readerEnv }, { databaseUrl, prefix });
  /** A sample's value in the reader's /metrics (0 when absent); `labels` as written there, e.g. `{space="movies"}`. */
  const metric = async (name: string, labels = '') => {
    const body = (await reader.app!.inject({ method: 'GET', url: '/metrics' })).body;
    const m = new RegExp(`^${name}${labels.replace(/[{}]/g, '\\$&')} (\\S+)$`, 'm').exec(body);
    return m ? Number(m[1]) : 0;
  };
  return { writer, reader, world, metric };
}
