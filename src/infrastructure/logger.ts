import { trace } from '@opentelemetry/api';
import { pino, type DestinationStream, type Logger } from 'pino';

export type { Logger };

/**
 * Paths whose values never reach a log line. Field names rather than places: the same
 * secret turns up under `config`, in an error's context, or on its own. (pino's `*` matches
 * one level, so each name is listed at the top level and one and two levels down.)
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

export const REDACTED_PATHS: readonly string[] = [
  // Fastify's request logger and anything logging raw headers.
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-api-key"]',
  'res.headers["set-cookie"]',
  'headers.authorization',
  'headers.cookie',
  ...SECRET_FIELDS.flatMap((field) => [field, `*.${field}`, `*.*.${field}`]),
  // Connection URLs may carry a password: logged without it (see censor below).
  ...URL_FIELDS.flatMap((field) => [field, `*.${field}`]),
];

const URL_FIELD_SET = new Set(URL_FIELDS);

/**
 * A URL keeps its scheme, host and path, so an operator still sees where a process
 * connects; anything else is replaced wholesale.
 */
function censor(value: unknown, path: string[]): unknown {
  const field = path[path.length - 1] ?? '';
  if (URL_FIELD_SET.has(field) && typeof value === 'string') return withoutCredentials(value);
  if (value === undefined || value === null) return value;
  return '[redacted]';
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
  return pino(
    {
      level: options.level,
      base: { role: options.role },
      mixin: traceFields,
      redact: { paths: [...REDACTED_PATHS], censor },
    },
    options.destination,
  );
}
