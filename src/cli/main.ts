#!/usr/bin/env node
// emerflow: the command line of the EmerFlow API (docs/client.md). Reads EMERFLOW_URL and
// EMERFLOW_KEY; the exit codes are listed in its --help (cli.ts), for scripts.
import { main } from './cli.js';
import { processIo } from './io.js';

const args = process.argv.slice(2);
const stats = args.includes('--stats');
const code = await main(
  args.filter((a) => a !== '--stats'),
  processIo(process.env),
);
// maxRSS: the peak resident memory of the whole process, in KiB (what an import's bounded memory is measured by)
if (stats) process.stderr.write(`stats: maxRSS=${process.resourceUsage().maxRSS} KiB\n`);
// exitCode, not exit(): what is still being written to a pipe gets out first
process.exitCode = code;
