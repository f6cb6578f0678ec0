// Each request's logger (req.log), made only when the request logs something. Fastify's
// default makes a pino child per request (its bindings serialised, the redaction applied)
// before the handler runs: on the cached lookup path that was a measurable share of the
// request, for a logger that at LOG_LEVEL warn, or with the lookups' access lines off,
// never writes a line.
import type { FastifyBaseLogger } from 'fastify';
import type { Bindings, ChildLoggerOptions, Logger } from 'pino';

type Level = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace';

/** Stands for `parent.child(bindings, options)` until a method needs the real child. */
class RequestLogger {
  private made: FastifyBaseLogger | undefined;

  constructor(
    private readonly parent: Logger,
    private readonly bindings: Bindings,
    private readonly options: ChildLoggerOptions,
  ) {}

  private real(): FastifyBaseLogger {
    return (this.made ??= this.parent.child(this.bindings, this.options) as unknown as FastifyBaseLogger);
  }

  /** A level the child would drop: nothing made, nothing written (the child's own level when it has one). */
  private drops(level: Level): boolean {
    const set = this.options.level ?? this.made?.level;
    return set === undefined ? !this.parent.isLevelEnabled(level) : this.parent.levels.values[level]! < this.parent.levels.values[set]!;
  }

  get level(): string {
    return this.made?.level ?? this.options.level ?? this.parent.level;
  }
  set level(value: string) {
    this.real().level = value;
  }

  private write(level: Level, args: unknown[]): void {
    if (!this.drops(level)) (this.real()[level] as (...a: unknown[]) => void)(...args);
  }
  fatal(...args: unknown[]): void {
    this.write('fatal', args);
  }
  error(...args: unknown[]): void {
    this.write('error', args);
  }
  warn(...args: unknown[]): void {
    this.write('warn', args);
  }
  info(...args: unknown[]): void {
    this.write('info', args);
  }
  debug(...args: unknown[]): void {
    this.write('debug', args);
  }
  trace(...args: unknown[]): void {
    this.write('trace', args);
  }
  silent(): void {}

  child(bindings: Bindings, options?: ChildLoggerOptions): FastifyBaseLogger {
    return this.real().child(bindings, options);
  }
}

/** Fastify's `childLoggerFactory`: the request's logger, made lazily. */
export function lazyRequestLogger(logger: FastifyBaseLogger, bindings: Bindings, options: ChildLoggerOptions): FastifyBaseLogger {
  return new RequestLogger(logger as unknown as Logger, bindings, options) as unknown as FastifyBaseLogger;
}
