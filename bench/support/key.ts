// The API key every bench request carries. With --url it is EMERFLOW_KEY (a key of the
// running service); a service the bench starts itself gets it as its ADMIN_API_KEY.
import crypto from 'node:crypto';

if (!process.env['EMERFLOW_KEY']) process.env['EMERFLOW_KEY'] = `bench-${crypto.randomBytes(18).toString('base64url')}`;

/** Read from the environment, so the load-generator process (forked later) has the same one. */
export const BENCH_KEY: string = process.env['EMERFLOW_KEY'];
export const authHeader = (): Record<string, string> => ({ authorization: `Bearer ${BENCH_KEY}` });
