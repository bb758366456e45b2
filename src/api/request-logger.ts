import type { FastifyBaseLogger } from 'fastify';

type Bindings = Record<string, unknown>;
type ChildOptions = Parameters<FastifyBaseLogger['child']>[1];
type Level = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace';
type LogMethod = FastifyBaseLogger['info'];

/** What pino's loggers answer besides the level methods; a logger that lacks one is not asked. */
type PinoLike = FastifyBaseLogger & {
  isLevelEnabled?: (level: string) => boolean;
  bindings?: () => Bindings;
  setBindings?: (bindings: Bindings) => void;
  flush?: (callback?: (error?: Error) => void) => void;
};

/**
 * Fastify's `childLoggerFactory`: a request's logger (`request.log`, with its `reqId`, and the
 * `apiKeyName` the bearer check adds) becomes a pino child only when the request writes a line
 * at a level that is on. pino builds a child eagerly — its bindings serialized, its methods set
 * up — which cost the web process about 6 % of its CPU under intake load at LOG_LEVEL=warn, where
 * most requests write nothing (docs/benchmarks.md, twentieth pass). At `info` Fastify logs every
 * request, so the child is made at its first line, as before. A route with a log level or
 * serializers of its own gets its child at once. Besides the level methods, `level` and `child`
 * that Fastify asks for, it answers pino's `isLevelEnabled`, `bindings`, `setBindings` and
 * `flush`, so a plugin that asks them gets what pino would answer.
 */
export function lazyRequestLogger(logger: FastifyBaseLogger, bindings: Bindings, options: ChildOptions = {}): FastifyBaseLogger {
  if (Object.keys(options).length > 0) return logger.child(bindings, options);
  return new LazyChildLogger(logger, bindings);
}

class LazyChildLogger implements FastifyBaseLogger {
  private made: PinoLike | undefined;

  constructor(
    private readonly parent: PinoLike,
    /** The child's own bindings (the request id, the key name). */
    private readonly own: Bindings,
  ) {}

  // The level methods are the prototype's (set below): a request makes no closures for its logger.
  declare readonly fatal: LogMethod;
  declare readonly error: LogMethod;
  declare readonly warn: LogMethod;
  declare readonly info: LogMethod;
  declare readonly debug: LogMethod;
  declare readonly trace: LogMethod;

  silent(): void {}

  get level(): string {
    return this.made?.level ?? this.parent.level;
  }

  set level(level: string) {
    this.logger().level = level;
  }

  isLevelEnabled(level: string): boolean {
    return (this.made ?? this.parent).isLevelEnabled?.(level) ?? true;
  }

  bindings(): Bindings {
    return this.made?.bindings?.() ?? { ...this.parent.bindings?.(), ...this.own };
  }

  setBindings(bindings: Bindings): void {
    this.logger().setBindings?.(bindings);
  }

  flush(callback?: (error?: Error) => void): void {
    if (this.parent.flush) this.parent.flush(callback);
    else callback?.();
  }

  child(bindings: Bindings, options?: ChildOptions): FastifyBaseLogger {
    if (this.made || (options && Object.keys(options).length > 0)) return this.logger().child(bindings, options);
    return new LazyChildLogger(this.parent, { ...this.own, ...bindings });
  }

  private logger(): PinoLike {
    this.made ??= this.parent.child(this.own);
    return this.made;
  }

  /** A line at `level`: nothing when the level is off and no child exists yet. */
  write(level: Level, args: Parameters<LogMethod>): void {
    if (!this.made && this.parent.isLevelEnabled?.(level) === false) return;
    this.logger()[level](...args);
  }
}

for (const level of ['fatal', 'error', 'warn', 'info', 'debug', 'trace'] as const) {
  Object.defineProperty(LazyChildLogger.prototype, level, {
    value: function line(this: LazyChildLogger, ...args: Parameters<LogMethod>) {
      this.write(level, args);
    },
  });
}
