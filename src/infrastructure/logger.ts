import { trace } from '@opentelemetry/api';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pino, type Bindings, type ChildLoggerOptions, type DestinationStream, type Logger } from 'pino';

export type { Logger };

/**
 * Fields whose values never reach a log line. Field names rather than places: the same
 * secret turns up under `config`, in an error's context, or on its own, so each is looked for
 * at the top level of a line and one and two levels down.
 */
const SECRET_FIELDS = [
  'password',
  'secret',
  'apiKey',
  'apiKeys',
  'authorization',
  'cookie',
  'smtpUrl',
  // The keys webhook secrets are encrypted with (Config.webhookSecretKeys, the variable), and
  // the signing secrets of a delivery (WebhookRequest.secrets, the previous one of a rotation).
  'webhookSecretKeys',
  'WEBHOOK_SECRET_KEYS',
  'secrets',
  'previousSecret',
  'previous_secret',
];
const URL_FIELDS = ['databaseUrl', 'databaseReadUrl', 'redisUrl', 'smtpUrl'];
/** Header names that carry credentials besides `authorization` and `cookie` (raw request headers). */
const SECRET_HEADERS = ['x-api-key', 'set-cookie'];

/** Every field that is censored; a URL field keeps its URL without the password (censor). */
const CENSORED_FIELDS: ReadonlySet<string> = new Set([...SECRET_FIELDS, ...SECRET_HEADERS, ...URL_FIELDS]);
const URL_FIELD_SET: ReadonlySet<string> = new Set(URL_FIELDS);
/** The non-enumerable fields of an error that lead to more errors. */
const ERROR_LINKS = ['cause', 'errors'];
/** A field is looked for at the top of a line and down to this many levels below it. */
const DEPTH = 2;

/**
 * The value of a secret field as it is written: a URL keeps its scheme, host and path, so an
 * operator still sees where a process connects; anything else is replaced wholesale.
 */
function censor(field: string, value: unknown): unknown {
  if (URL_FIELD_SET.has(field) && typeof value === 'string') return withoutCredentials(value);
  if (value === undefined || value === null) return value;
  return '[redacted]';
}

/**
 * `value` with every secret field at `level` and below (to DEPTH) censored; the same object
 * when it holds none, so the common line costs a walk of its few keys and no copy. Any object
 * is walked — plain ones, arrays, errors and class instances alike (a raw request's `headers`,
 * a client's `options.password`) — except binary data; a copy keeps its prototype and its
 * other properties, so serializers and `toJSON` see what they saw before.
 *
 * Not pino's `redact` option: its redactor (@pinojs/redact 0.4) parses every path again on
 * each call, once for every top-level key of every line and child binding — about 50 µs a
 * line or child with these ~50 paths, against a few µs for this walk (docs/benchmarks.md).
 */
function redact(value: unknown, level: number): unknown {
  if (typeof value !== 'object' || value === null || level > DEPTH || ArrayBuffer.isView(value)) return value;
  const isArray = Array.isArray(value);
  const source = value as Record<string, unknown>;
  let copy: Record<string, unknown> | undefined;
  // An error's cause (and an AggregateError's errors) are own but not enumerable: pino's
  // error serializer writes them all the same, so they are walked too.
  const own = Object.keys(source);
  const keys = value instanceof Error ? [...own, ...ERROR_LINKS.filter((key) => Object.hasOwn(source, key) && !own.includes(key))] : own;
  for (const key of keys) {
    const current = source[key];
    const next = !isArray && CENSORED_FIELDS.has(key) ? censor(key, current) : redact(current, level + 1);
    if (next === current) continue;
    copy ??= isArray ? ([...(source as unknown as unknown[])] as unknown as Record<string, unknown>) : cloneOf(source);
    copy[key] = next;
  }
  return copy ?? value;
}

function cloneOf(source: Record<string, unknown>): Record<string, unknown> {
  const proto: unknown = Object.getPrototypeOf(source);
  if (proto === Object.prototype || proto === null) return { ...source };
  // Every own property with its descriptor (an error's message is not enumerable, a request's
  // fields may be symbols), made writable: a frozen or read-only original must not make the
  // log call throw. V8's stack is an accessor bound to the original error: its value is copied.
  const descriptors = Object.getOwnPropertyDescriptors(source);
  for (const descriptor of Object.values(descriptors)) {
    descriptor.configurable = true;
    if ('value' in descriptor) descriptor.writable = true;
  }
  const copy = Object.create(proto as object, descriptors) as Record<string, unknown>;
  if (source instanceof Error) Object.defineProperty(copy, 'stack', { value: source.stack, writable: true, configurable: true, enumerable: false });
  return copy;
}

/** pino's own test for a raw request or response as a line's object, and its mapping of them. */
function asHttpMessage(value: unknown): unknown {
  if (typeof value !== 'object' || value === null) return value;
  const message = value as { method?: unknown; headers?: unknown; socket?: unknown; setHeader?: unknown };
  if (message.method && message.headers && message.socket) return pino.stdSerializers.mapHttpRequest(value as IncomingMessage);
  if (typeof message.setHeader === 'function') return pino.stdSerializers.mapHttpResponse(value as ServerResponse);
  return value;
}

/** What a log call or a child's bindings are written as: the secrets in them censored. */
export function redacted<T>(value: T): T {
  try {
    // An error logged on its own is written under `err`: its fields are one level down.
    return redact(value, value instanceof Error ? 1 : 0) as T;
  } catch {
    // A getter that throws, an exotic object: the line loses this argument rather than the
    // log call throwing into its caller or writing what could not be checked.
    return '[not logged: could not be checked for secrets]' as T;
  }
}

/** `redis://user:pw@host:6379/0` → `redis://user:***@host:6379/0`; several comma-separated URLs each. */
export function withoutCredentials(urls: string): string {
  return urls
    .split(',')
    .map((part) => {
      try {
        const url = new URL(part.trim());
        if (url.password) url.password = '***';
        return url.toString();
      } catch {
        return '[redacted]';
      }
    })
    .join(',');
}

/**
 * With tracing on, every line written inside a span carries its ids, so a log line leads to
 * its trace and back. Without tracing there is no active span and nothing is added.
 */
function traceFields(): Record<string, string> {
  const span = trace.getActiveSpan();
  if (!span) return {};
  const { traceId, spanId, traceFlags } = span.spanContext();
  if (!span.isRecording() && traceFlags === 0) return {};
  return { trace_id: traceId, span_id: spanId };
}

/** JSON logs; anything that may carry a secret is redacted before it is written. */
export function createLogger(options: { level: string; role: string; destination?: DestinationStream }): Logger {
  const logger = pino(
    {
      level: options.level,
      base: { role: options.role },
      mixin: traceFields,
      hooks: {
        logMethod(args, method) {
          // A raw request or response logged on its own is written through pino's serializer
          // (its headers from a getter): serialized here first, so the walk sees those headers.
          args[0] = asHttpMessage(args[0]);
          for (let i = 0; i < args.length; i += 1) if (typeof args[i] === 'object') args[i] = redacted(args[i]);
          return method.apply(this, args);
        },
      },
    },
    options.destination,
  );
  // A child's bindings are written into every line it logs. pino applies no formatter to
  // them, so they are censored here; children of children inherit this method.
  type ChildOf = (this: unknown, bindings: Bindings, options?: ChildLoggerOptions) => unknown;
  const child = Reflect.get(logger, 'child') as ChildOf;
  const redactedChild: ChildOf = function redactedChild(bindings, childOptions) {
    return child.call(this, redacted(bindings), childOptions);
  };
  Reflect.set(logger, 'child', redactedChild);
  return logger;
}
