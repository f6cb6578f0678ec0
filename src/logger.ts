import { pino, type DestinationStream, type Logger } from 'pino';

/** `dest`: stdout unless given (tests read what is logged). */
export function createLogger(level: string, dest?: DestinationStream): Logger {
  // The LLM key and the API keys must never reach a log line, whatever object gets logged.
  const options = {
    level,
    redact: {
      paths: [
        '*.apiKey',
        '*.LLM_API_KEY',
        '*.ADMIN_API_KEY',
        '*.key',
        'req.headers.authorization',
        'config.LLM_API_KEY',
        'config.ADMIN_API_KEY',
      ],
      censor: '[redacted]',
    },
  };
  return dest ? pino(options, dest) : pino(options);
}
