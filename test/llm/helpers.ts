// Shared set-up of the LLM tests: a fake endpoint, a client on it with small
// timeouts and backoffs, and a logger whose lines are captured.
import type { TestContext } from 'node:test';
import { pino } from 'pino';
import { createLlmClient, defaultLlmOptions, MemoryLlmCache, type LlmClient, type LlmOptions } from '../../src/llm/index.js';
import { startFakeOpenAI, type FakeOpenAI, type FakeOpenAIOptions } from '../support/fake-openai.js';

export const API_KEY = 'sk-test-SECRET-0123456789abcdef';

export interface Harness {
  fake: FakeOpenAI;
  client: LlmClient;
  cache: MemoryLlmCache;
  /** Every log line written, as raw JSON text. */
  lines: string[];
}

export async function harness(t: TestContext, opts: Partial<LlmOptions> = {}, fakeOpts: FakeOpenAIOptions = {}): Promise<Harness> {
  const fake = await startFakeOpenAI(fakeOpts);
  const lines: string[] = [];
  const log = pino({ level: 'debug' }, { write: (s: string) => void lines.push(s) });
  const cache = new MemoryLlmCache();
  const client = createLlmClient(
    {
      ...defaultLlmOptions,
      baseURL: fake.url,
      apiKey: API_KEY,
      model: 'fake-chat',
      timeoutMs: 1_000,
      maxRetries: 2,
      retryBaseMs: 5,
      retryMaxDelayMs: 3_000,
      breakerThreshold: 100,
      breakerCooldownMs: 100,
      ...opts,
    },
    { cache, log },
  );
  t.after(async () => {
    await client.close();
    await fake.close();
  });
  return { fake, client, cache, lines };
}

export const MOVIE_AUX = [
  { name: 'director', description: 'Who directed the film.' },
  { name: 'themes', description: 'Main themes, comma-separated.' },
  { name: 'mood', description: 'Overall mood.' },
];

export const toyStory = { title: 'Toy Story (1995)', genres: ['Animation', "Children's", 'Comedy'] };

export async function rejects(p: Promise<unknown>): Promise<any> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}
