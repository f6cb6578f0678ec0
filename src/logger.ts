import { pino, type Logger } from 'pino';

export function createLogger(level: string): Logger {
  // The LLM key must never reach a log line, whatever object gets logged.
  return pino({ level, redact: { paths: ['*.apiKey', '*.LLM_API_KEY', 'req.headers.authorization', 'config.LLM_API_KEY'], censor: '[redacted]' } });
}
