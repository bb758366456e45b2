import type { FastifyBaseLogger } from 'fastify';

type Bindings = Record<string, unknown>;
type ChildOptions = Parameters<FastifyBaseLogger['child']>[1];
type Level = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace';
type LogMethod = FastifyBaseLogger['info'];

/** pino's loggers answer this; a logger that does not is asked nothing and gets every line. */
type LevelAware = FastifyBaseLogger & { isLevelEnabled?: (level: string) => boolean };

/**
 * Fastify's `childLoggerFactory`: a request's logger (`request.log`, with its `reqId`, and the
 * `apiKeyName` the bearer check adds) becomes a pino child only when the request writes a line
 * at a level that is on. pino builds a child eagerly — its bindings serialized, its methods set
 * up — which cost the web process about 6 % of its CPU under intake load at LOG_LEVEL=warn, where
 * most requests write nothing (docs/benchmarks.md, twentieth pass). At `info` Fastify logs every
 * request, so the child is made at its first line, as before. A route with a log level or
 * serializers of its own gets its child at once.
 */
export function lazyRequestLogger(logger: FastifyBaseLogger, bindings: Bindings, options: ChildOptions = {}): FastifyBaseLogger {
  if (Object.keys(options).length > 0) return logger.child(bindings, options);
  return new LazyChildLogger(logger, bindings);
}

class LazyChildLogger implements FastifyBaseLogger {
  private made: FastifyBaseLogger | undefined;

  constructor(
    private readonly parent: LevelAware,
    private readonly bindings: Bindings,
  ) {}

  readonly fatal = this.method('fatal');
  readonly error = this.method('error');
  readonly warn = this.method('warn');
  readonly info = this.method('info');
  readonly debug = this.method('debug');
  readonly trace = this.method('trace');
  readonly silent: LogMethod = () => undefined;

  get level(): string {
    return this.made?.level ?? this.parent.level;
  }

  set level(level: string) {
    this.logger().level = level;
  }

  child(bindings: Bindings, options?: ChildOptions): FastifyBaseLogger {
    if (this.made || (options && Object.keys(options).length > 0)) return this.logger().child(bindings, options);
    return new LazyChildLogger(this.parent, { ...this.bindings, ...bindings });
  }

  private logger(): FastifyBaseLogger {
    this.made ??= this.parent.child(this.bindings);
    return this.made;
  }

  private method(level: Level): LogMethod {
    return ((...args: Parameters<LogMethod>) => {
      if (!this.made && this.parent.isLevelEnabled?.(level) === false) return;
      this.logger()[level](...args);
    });
  }
}
