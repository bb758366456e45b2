import { isIP } from 'node:net';
import { z } from 'zod';
import type { QueueName } from '../../queues/names.js';
import { type JobRetention, processedCommandRule } from '../../queues/retention.js';
import { parseSecretKeys, type SecretKey } from './webhooks/secret-cipher.js';
import { MAX_DELIVERY_RATE, MIN_DELIVERY_RATE } from '../application/webhooks/delivery-rate.js';

const DEV_API_KEY = 'dev-key';
const DEV_ADMIN_USER = 'admin';
const DEV_ADMIN_PASSWORD = 'admin';
/** Shortest API key or admin password a production process accepts. */
export const MIN_SECRET_LENGTH = 32;
/**
 * The value of WEBHOOK_ALLOW_PRIVATE_ACKNOWLEDGED that lets a production process deliver
 * webhooks to private and loopback addresses: an operator has to type it on purpose.
 */
export const ALLOW_PRIVATE_ACKNOWLEDGEMENT = 'i-understand-ssrf';
/** Encrypts webhook secrets at rest in development and tests only: production must set its own. */
const DEV_WEBHOOK_SECRET_KEYS = 'dev:9tT/AoY5acwz6ENQLnfQMWrsvKy9KZpz5vC5zpWpTeE=';

const bool = z
  .enum(['true', 'false', '1', '0', ''])
  .optional()
  .transform((value) => value === 'true' || value === '1');

const csv = z
  .string()
  .optional()
  .transform((value) =>
    (value ?? '')
      .split(',')
      .map((part) => part.trim())
      .filter((part) => part.length > 0),
  );

const DURATION_UNITS_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** `90s`, `30m`, `5d` … in milliseconds; a bare number counts in `bareUnit` when one is given; NaN otherwise. */
function parseDuration(value: string, bareUnit?: keyof typeof DURATION_UNITS_MS): number {
  const match = /^(\d+)(ms|s|m|h|d)?$/.exec(value.trim());
  const unit = (match?.[2] ?? bareUnit) as keyof typeof DURATION_UNITS_MS | undefined;
  return match && unit ? Number(match[1]) * DURATION_UNITS_MS[unit] : Number.NaN;
}

/** A duration as whole seconds ("90"), or with a unit: "90s", "30m", "2h". Parsed to milliseconds. */
const secondsOrDuration = z
  .string()
  .trim()
  .transform((value, ctx) => {
    const ms = /^\d{1,9}(s|m|h)?$/.test(value) ? parseDuration(value, 's') : Number.NaN;
    if (!Number.isSafeInteger(ms)) {
      ctx.addIssue({ code: 'custom', message: 'must be whole seconds ("1800") or a number with a unit s, m or h ("30m", "2h")' });
      return z.NEVER;
    }
    return ms;
  });

/**
 * A duration written as a whole number and a unit: `500ms`, `90s`, `30m`, `36h`, `5d`
 * (one number, one unit). Parsed to milliseconds; must be at least `minMs`.
 */
const duration = (fallback: string, minMs = 1) =>
  z
    .string()
    .default(fallback)
    .transform((value, ctx) => {
      const ms = parseDuration(value);
      if (!Number.isSafeInteger(ms) || ms < minMs) {
        const positive = minMs > 0 ? ', more than zero' : '';
        ctx.addIssue({ code: 'custom', message: `must be a whole number and a unit: ms, s, m, h or d (e.g. 5d, 36h, 90s)${positive}` });
        return z.NEVER;
      }
      return ms;
    });

/** proxy-addr's names for address ranges, as Fastify's `trustProxy` takes them. */
const PROXY_RANGES = new Set(['loopback', 'linklocal', 'uniquelocal']);

/**
 * Which peers are trusted to say who the client is (X-Forwarded-For), as Fastify's `trustProxy`
 * takes it: `false` (unset: the TCP peer is the client), `true` (every peer: the client is the
 * left-most X-Forwarded-For entry, so only where the proxy replaces that header), a number of
 * hops (only where every request passes exactly that many proxies), or addresses and CIDR
 * ranges (`10.0.0.0/8, 192.0.2.1`, or `loopback`, `linklocal`, `uniquelocal`), the safe choice.
 */
const trustProxy = z
  .string()
  .default('false')
  .transform((value, ctx): boolean | number | string[] => {
    const trimmed = value.trim();
    if (trimmed === 'false' || trimmed === '') return false;
    if (trimmed === 'true') return true;
    if (/^\d+$/.test(trimmed)) return Number(trimmed);
    const entries = trimmed.split(',').map((entry) => entry.trim());
    const invalid = entries.filter((entry) => !PROXY_RANGES.has(entry) && !isAddressOrRange(entry));
    if (invalid.length > 0) {
      ctx.addIssue({
        code: 'custom',
        message: `${invalid.map((entry) => JSON.stringify(entry)).join(', ')}: not an IP address or CIDR range; use true, false, a number of hops, or addresses and ranges separated by commas (e.g. 10.0.0.0/8,192.0.2.1)`,
      });
      return z.NEVER;
    }
    return entries;
  });

function isAddressOrRange(entry: string): boolean {
  const [address = '', prefix, ...rest] = entry.split('/');
  const family = isIP(address);
  if (family === 0 || rest.length > 0) return false;
  if (prefix === undefined) return true;
  return /^\d{1,3}$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128);
}

const url = (protocols: readonly string[]) =>
  z.string().refine((value) => {
    try {
      return protocols.includes(new URL(value).protocol);
    } catch {
      return false;
    }
  }, `must be a URL starting with ${protocols.join(' or ')}//`);

/** A duration for people: `7d 1h 6m`, `90s`. */
export function formatDuration(ms: number): string {
  const parts: string[] = [];
  let rest = Math.round(ms / 1000);
  for (const [unit, seconds] of [['d', 86_400], ['h', 3600], ['m', 60], ['s', 1]] as const) {
    if (rest >= seconds) {
      parts.push(`${Math.floor(rest / seconds)}${unit}`);
      rest %= seconds;
    }
  }
  return parts.join(' ') || '0s';
}

/**
 * The variables of each queue's job retention in Redis: RETENTION_<name>_JOBS_COMPLETED and
 * _FAILED. A queue without an entry is a compile error.
 */
const JOB_RETENTION_VARIABLES: { readonly [Q in QueueName]: { completed: keyof Env; failed: keyof Env } } = {
  commands: { completed: 'RETENTION_COMMAND_JOBS_COMPLETED', failed: 'RETENTION_COMMAND_JOBS_FAILED' },
  emails: { completed: 'RETENTION_EMAIL_JOBS_COMPLETED', failed: 'RETENTION_EMAIL_JOBS_FAILED' },
  webhooks: { completed: 'RETENTION_WEBHOOK_JOBS_COMPLETED', failed: 'RETENTION_WEBHOOK_JOBS_FAILED' },
  maintenance: { completed: 'RETENTION_MAINTENANCE_JOBS_COMPLETED', failed: 'RETENTION_MAINTENANCE_JOBS_FAILED' },
};

const schema = z.object({
  NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
  DATABASE_URL: url(['postgres:', 'postgresql:']).default('postgres://postgres@127.0.0.1:5432/conveyor'),
  DATABASE_READ_URL: url(['postgres:', 'postgresql:']).optional(),
  // One URL, or several comma-separated seed nodes of a Redis Cluster.
  REDIS_URL: z
    .string()
    .default('redis://127.0.0.1:6379')
    .refine(
      (value) => value.split(',').every((part) => url(['redis:', 'rediss:']).safeParse(part.trim()).success),
      'must be a redis:// URL, or several comma-separated ones for a cluster',
    ),
  QUEUE_PREFIX: z.string().min(1).max(64).default('conveyor'),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  HOST: z.string().min(1).default('127.0.0.1'),
  API_KEYS: csv,
  ADMIN_USER: z.string().min(1).optional(),
  ADMIN_PASSWORD: z.string().min(1).optional(),
  SMTP_URL: url(['smtp:', 'smtps:']).optional(),
  MAIL_FROM: z.string().min(3).default('conveyor <no-reply@conveyor.local>'),
  MAIL_DIR: z.string().min(1).default('var/mail'),
  WEBHOOK_ALLOW_PRIVATE: bool,
  // Production only: WEBHOOK_ALLOW_PRIVATE=true is refused unless this says exactly that.
  WEBHOOK_ALLOW_PRIVATE_ACKNOWLEDGED: z
    .string()
    .optional()
    .refine((value) => value === undefined || value === ALLOW_PRIVATE_ACKNOWLEDGEMENT, {
      message: `must be exactly ${ALLOW_PRIVATE_ACKNOWLEDGEMENT} (or unset)`,
    }),
  WEBHOOK_RETRY_SCHEDULE: z
    .string()
    .default('5,300,1800,7200,18000,36000,36000')
    .transform((value, ctx) => {
      const seconds = value.split(',').map((part) => Number(part.trim()));
      if (seconds.length === 0 || seconds.some((s) => !Number.isFinite(s) || s < 0)) {
        ctx.addIssue({ code: 'custom', message: 'must be a comma-separated list of non-negative seconds' });
        return z.NEVER;
      }
      return seconds;
    }),
  WEBHOOK_DISABLE_AFTER: duration('5d'),
  WEBHOOK_SECRET_OVERLAP: duration('24h', 0),
  // Comma-separated <key id>:<base64 of 32 bytes>; checked in loadConfig (secret-cipher.ts).
  WEBHOOK_SECRET_KEYS: z.string().optional(),
  // Deliveries per second to one endpoint (docs/adr/0013-webhook-delivery-rate.md).
  WEBHOOK_DELIVERY_RATE: z.coerce
    .number({ error: 'must be a number of deliveries per second' })
    .min(MIN_DELIVERY_RATE, `must be at least ${MIN_DELIVERY_RATE} deliveries per second`)
    .max(MAX_DELIVERY_RATE, `must be at most ${MAX_DELIVERY_RATE} deliveries per second`)
    .default(100),
  WORKER_CONCURRENCY: z.coerce.number().int().min(1).max(1000).default(10),
  COMMAND_GROUP_MAX: z.coerce.number().int().min(1).max(1000).default(32),
  COMMAND_GROUP_TRANSACTIONS: z.coerce.number().int().min(1).max(64).default(2),
  COMMAND_ORDERING: z.enum(['true', 'false', '1', '0']).default('true').transform((value) => value === 'true' || value === '1'),
  COMMAND_PIPELINING: z.enum(['true', 'false', '1', '0']).default('true').transform((value) => value === 'true' || value === '1'),
  // docs/adr/0024-relay-first-attempt.md: the relay makes an email's and a webhook's first attempt.
  RELAY_FIRST_ATTEMPT: z.enum(['true', 'false', '1', '0']).default('false').transform((value) => value === 'true' || value === '1'),
  // At most 1000: with the backoff capped at 60 s that is under 17 h of retries, inside the 24 h
  // an ordering line is remembered (ADR 0006).
  COMMAND_ATTEMPTS: z.coerce.number().int().min(1).max(1000).default(40),
  WEBHOOK_TIMEOUT_MS: z.coerce.number().int().min(100).max(120_000).default(10_000),
  WORKER_LOCK_MS: z.coerce.number().int().min(1000).max(600_000).default(30_000),
  SWEEP_INTERVAL_MS: z.coerce.number().int().min(100).default(30_000),
  SWEEP_GRACE_MS: z.coerce.number().int().min(0).default(30_000),
  ORDER_CONFIRMATION_TIMEOUT: secondsOrDuration.default(30 * 60_000).refine(
    (ms) => ms <= 366 * 24 * 3_600_000,
    'must be at most 366 days (0 turns expiry off)',
  ),
  // docs/adr/0012-rate-limits-and-load-shedding.md: per-key requests per minute (an API key's
  // own limit overrides it), and the most commands the `commands` queue may hold (0: no ceiling).
  RATE_LIMIT_PER_MINUTE: z.coerce.number().int().min(1).max(1_000_000_000).default(6000),
  MAX_QUEUED_COMMANDS: z.coerce.number().int().min(0).max(1_000_000_000).default(100_000),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  // Unset: worker processes serve no metrics (web always serves GET /metrics on PORT).
  METRICS_PORT: z.coerce.number().int().min(0).max(65535).optional(),
  // Unset: no tracing at all. The OTLP exporter reads the OTEL_EXPORTER_OTLP_* variables itself.
  OTEL_EXPORTER_OTLP_ENDPOINT: url(['http:', 'https:']).optional(),
  OTEL_SERVICE_NAME: z.string().min(1).optional(),
  // Bull Board logins (docs/adr/0014-bull-board-read-only.md): a client (IP) with this many
  // failures is refused until the window that began with its first failure ends.
  ADMIN_LOGIN_MAX_FAILURES: z.coerce.number().int().min(1).max(1000).default(10),
  ADMIN_LOGIN_WINDOW: duration('15m', 1000),
  // Behind a reverse proxy or load balancer: which peers may name the client (X-Forwarded-For),
  // for the per-client limits (Bull Board's failed logins, requests without an API key).
  TRUST_PROXY: trustProxy,
  // Retention (docs/adr/0010-retention.md): how long rows are kept in PostgreSQL, and finished
  // jobs in Redis (defaults of queues/retention.ts).
  RETENTION_OUTBOX: duration('30d', 1000),
  RETENTION_EMAILS: duration('30d', 1000),
  RETENTION_WEBHOOK_DELIVERIES: duration('30d', 1000),
  RETENTION_PROCESSED_COMMANDS: duration('30d', 1000),
  RETENTION_GAVE_UP_COMMANDS: duration('30d', 1000),
  RETENTION_SCHEDULE_RUNS: duration('30d', 1000),
  RETENTION_INTERVAL: duration('1h', 1000),
  RETENTION_BATCH_SIZE: z.coerce.number().int().min(1).max(100_000).default(1000),
  RETENTION_COMMAND_JOBS_COMPLETED: duration('1d', 1000),
  RETENTION_COMMAND_JOBS_FAILED: duration('7d', 1000),
  RETENTION_EMAIL_JOBS_COMPLETED: duration('1h', 1000),
  RETENTION_EMAIL_JOBS_FAILED: duration('7d', 1000),
  RETENTION_WEBHOOK_JOBS_COMPLETED: duration('1d', 1000),
  RETENTION_WEBHOOK_JOBS_FAILED: duration('7d', 1000),
  RETENTION_MAINTENANCE_JOBS_COMPLETED: duration('1d', 1000),
  RETENTION_MAINTENANCE_JOBS_FAILED: duration('7d', 1000),
});

export type Env = z.input<typeof schema>;

/** The validated configuration every process role is built from. */
export interface Config {
  nodeEnv: 'development' | 'test' | 'production';
  databaseUrl: string;
  /** Optional replica for the query side; the primary is used when unset. */
  databaseReadUrl: string | undefined;
  redisUrl: string;
  /** Prefix of every BullMQ key; wrap it in braces (`{conveyor}`) to keep queues on one Redis Cluster slot. */
  queuePrefix: string;
  port: number;
  host: string;
  apiKeys: string[];
  admin: { user: string; password: string };
  /** Unset in development: mail is written as .eml files under `mailDir`. */
  smtpUrl: string | undefined;
  mailFrom: string;
  mailDir: string;
  webhookAllowPrivate: boolean;
  /** Delay in seconds before each retry of a webhook delivery. */
  webhookRetrySchedule: number[];
  /**
   * WEBHOOK_DISABLE_AFTER, in ms: an endpoint whose every attempt has failed for this long
   * (since the first failure after its last success) is disabled automatically.
   */
  webhookDisableAfterMs: number;
  /**
   * WEBHOOK_SECRET_OVERLAP, in ms: how long after a secret rotation deliveries are signed with
   * the previous secret too (24 h by default).
   */
  webhookSecretOverlapMs: number;
  /**
   * WEBHOOK_SECRET_KEYS: the AES-256-GCM keys webhook secrets are encrypted with at rest
   * (docs/adr/0015-webhook-secrets-at-rest.md). The first encrypts, every one decrypts.
   */
  webhookSecretKeys: SecretKey[];
  /**
   * WEBHOOK_DELIVERY_RATE: deliveries per second at most to an endpoint without a rate of its
   * own, across every webhooks process (100 by default). Set the same value on every process.
   */
  webhookDeliveryRate: number;
  workerConcurrency: number;
  /**
   * Group commit of the command worker (docs/adr/0005-group-commit.md): at most this many
   * commands share one transaction (1 = a transaction per command), in at most
   * `commandGroupTransactions` transactions at once.
   */
  commandGroupMax: number;
  commandGroupTransactions: number;
  /**
   * Pipelined statements in the unit of work (docs/adr/0016-pipelined-statements.md): a
   * transaction's writes travel with its next statement. Off only to measure what it saves
   * or to rule it out.
   */
  commandPipelining: boolean;
  /**
   * The relay makes the first attempt of the emails and webhook deliveries it creates, up to
   * WORKER_CONCURRENCY at a time, and queues only their retries and what it has no room for
   * (RELAY_FIRST_ATTEMPT, default false; docs/adr/0024-relay-first-attempt.md).
   */
  relayFirstAttempt: boolean;
  /**
   * Per-aggregate FIFO (docs/adr/0006-per-aggregate-ordering.md): commands on one order, user
   * or product run in the order the intake accepted them. Read by the web process; off only
   * to measure what it costs.
   */
  commandOrdering: boolean;
  /**
   * Attempts of a command job (queues/commands.ts, default 40: about half an hour of outage)
   * before it gives up and is listed as `gave_up`. Read where command jobs are added: the web
   * process, and a retry of commands that gave up. Tests shorten it.
   */
  commandAttempts: number;
  /** Whole-request timeout of one webhook attempt (connect + response). */
  webhookTimeoutMs: number;
  /**
   * Lock duration and stalled-check interval of every worker's jobs. A job whose worker died
   * goes back to the queue once its lock expired and a stalled check saw it: after 1 to about
   * 3 times this long.
   */
  workerLockMs: number;
  /** How often the relay's sweeper looks for pending rows whose job Redis lost. */
  sweepIntervalMs: number;
  /** Pending rows younger than this are left to the relay that is enqueuing them. */
  sweepGraceMs: number;
  /**
   * How long a placed order may stay pending: an order still pending this long after it was
   * placed gets an ExpireOrder command from the relay's sweep, which cancels it
   * (ORDER_CONFIRMATION_TIMEOUT: seconds, or "30m", "2h"; default 30 minutes). 0 turns expiry
   * off: no order gets an ExpireOrder.
   */
  orderConfirmationTimeoutMs: number;
  /**
   * Requests per minute each API key may make on /v1 (RATE_LIMIT_PER_MINUTE, default 6000: 100/s
   * on average), counted in Redis across every web process; a key's own `rate_limit_per_minute`
   * overrides it. Over it: 429 with Retry-After (docs/adr/0012-rate-limits-and-load-shedding.md).
   */
  rateLimitPerMinute: number;
  /**
   * MAX_QUEUED_COMMANDS (default 100000): once the `commands` queue holds this many jobs not yet
   * finished (waiting, delayed, prioritized, waiting for children, active), the command routes
   * answer 503 with Retry-After instead of letting Redis fill up. 0: no ceiling.
   */
  maxQueuedCommands: number;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /**
   * Port of the Prometheus `/metrics` server of a worker process (worker, relay, mailer,
   * webhooks), on `host`. Unset: those processes serve no metrics. The web process serves
   * GET /metrics on `port` whatever this says.
   */
  metricsPort: number | undefined;
  /**
   * OpenTelemetry tracing: on only when OTEL_EXPORTER_OTLP_ENDPOINT is set (spans are sent
   * there over OTLP/HTTP); `serviceName` defaults to `conveyor-<role>`.
   */
  otel: { endpoint: string; serviceName: string | undefined } | undefined;
  /**
   * Failed Bull Board logins (ADMIN_LOGIN_MAX_FAILURES, default 10, in ADMIN_LOGIN_WINDOW, default
   * 15m): after `maxFailures` failures from one client IP, every request of that client to the
   * board gets 429 until `windowMs` after its first failure, on every web replica.
   */
  adminLoginThrottle: { maxFailures: number; windowMs: number };
  /**
   * Which peers may name the client in X-Forwarded-For (TRUST_PROXY, Fastify's `trustProxy`):
   * false by default, so the TCP peer is the client. Behind a proxy, every client otherwise
   * shares the proxy's address, and its per-client limits with it.
   */
  trustProxy: boolean | number | string[];
  /** What is deleted when, and how long finished jobs stay in Redis (docs/adr/0010-retention.md). */
  retention: RetentionConfig;
  /** Development defaults that were applied, for the start-up log. */
  defaultsApplied: string[];
}

/**
 * Retention (docs/adr/0010-retention.md). Every age counts from when a row was settled (sent,
 * failed, delivered, published, processed); rows still pending are never deleted.
 */
export interface RetentionConfig {
  /** Published outbox rows with no pending delivery and no email row left (RETENTION_OUTBOX). */
  outboxMs: number;
  /** Sent or failed emails (RETENTION_EMAILS). */
  emailsMs: number;
  /** Delivered or failed webhook deliveries, with their attempts (RETENTION_WEBHOOK_DELIVERIES). */
  webhookDeliveriesMs: number;
  /**
   * Outcomes of commands (RETENTION_PROCESSED_COMMANDS); never shorter than
   * `processedCommandRule` (checked here, at start-up), or exactly-once breaks.
   */
  processedCommandsMs: number;
  /**
   * Commands that gave up, the triage list (RETENTION_GAVE_UP_COMMANDS), counted from the give-up
   * or the last retry. The sweeper copies no give-up older than this from the failed jobs in
   * Redis, so a deleted row does not come back.
   */
  gaveUpCommandsMs: number;
  /** Runs of schedules (RETENTION_SCHEDULE_RUNS), counted from when the worker recorded them. */
  scheduleRunsMs: number;
  /** How often the retention job runs (RETENTION_INTERVAL). */
  intervalMs: number;
  /** Rows deleted per statement (RETENTION_BATCH_SIZE): each batch holds its row locks that briefly. */
  batchSize: number;
  /** How long each queue's finished jobs stay in Redis (RETENTION_<QUEUE>_JOBS_COMPLETED / _FAILED). */
  jobs: Record<QueueName, JobRetention>;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

const GENERATE_SECRET = 'generate one with `openssl rand -hex 32`';

/**
 * What a production process refuses: a missing admin login, the development key or login,
 * an API key or admin password shorter than MIN_SECRET_LENGTH, and webhooks to private
 * addresses without the acknowledgement. Each problem names its variable and what to do;
 * no secret is ever repeated in a message (it ends up in logs).
 */
function productionSecretProblems(values: z.output<typeof schema>): string[] {
  const problems: string[] = [];
  const keys = values.API_KEYS;
  const devKeys = keys.flatMap((key, index) => (key === DEV_API_KEY ? [index + 1] : []));
  if (devKeys.length > 0) {
    problems.push(
      `API_KEYS: entry #${devKeys.join(', #')} is the development key "${DEV_API_KEY}", which is never accepted in ` +
        `production. Remove it; ${GENERATE_SECRET}.`,
    );
  }
  const shortKeys = keys.flatMap((key, index) =>
    key !== DEV_API_KEY && key.length < MIN_SECRET_LENGTH ? [`#${index + 1} (${key.length} characters)`] : [],
  );
  if (shortKeys.length > 0) {
    problems.push(
      `API_KEYS: entry ${shortKeys.join(', ')} is shorter than ${MIN_SECRET_LENGTH} characters. ` +
        `Use longer keys (${GENERATE_SECRET}), or leave API_KEYS unset and create keys with the keys CLI.`,
    );
  }

  const user = values.ADMIN_USER;
  const password = values.ADMIN_PASSWORD;
  if (!user || !password) {
    problems.push(
      `ADMIN_USER and ADMIN_PASSWORD: required in production (the Bull Board login); ` +
        `set both, the password at least ${MIN_SECRET_LENGTH} characters (${GENERATE_SECRET}).`,
    );
  } else if (password === DEV_ADMIN_PASSWORD) {
    const login = user === DEV_ADMIN_USER ? `${DEV_ADMIN_USER}/${DEV_ADMIN_PASSWORD} is the development login` : `"${DEV_ADMIN_PASSWORD}" is the development password`;
    problems.push(
      `ADMIN_PASSWORD: ${login}, which is never accepted in production. ` +
        `Set a password of at least ${MIN_SECRET_LENGTH} characters (${GENERATE_SECRET}).`,
    );
  } else if (password.trim().length < MIN_SECRET_LENGTH) {
    problems.push(
      `ADMIN_PASSWORD: ${password.length} characters, shorter than ${MIN_SECRET_LENGTH}. ` +
        `Set a longer one (${GENERATE_SECRET}).`,
    );
  }

  if (values.WEBHOOK_ALLOW_PRIVATE && values.WEBHOOK_ALLOW_PRIVATE_ACKNOWLEDGED !== ALLOW_PRIVATE_ACKNOWLEDGEMENT) {
    problems.push(
      'WEBHOOK_ALLOW_PRIVATE: true lets anyone who can register a webhook endpoint make this server send requests ' +
        'to loopback, private and cloud-metadata addresses (SSRF). It is for local receivers in development: unset it, ' +
        `or, if production really must deliver to private addresses, also set WEBHOOK_ALLOW_PRIVATE_ACKNOWLEDGED=${ALLOW_PRIVATE_ACKNOWLEDGEMENT}.`,
    );
  }
  return problems;
}

/**
 * Reads and validates the environment. Outside production a missing API_KEYS or admin login
 * gets a development default, reported in `defaultsApplied`. In production nothing is
 * defaulted and the development defaults are refused (see `productionSecretProblems`).
 */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  // Empty variables count as unset, as most process managers write them that way.
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value !== ''));
  const parsed = schema.safeParse(cleaned);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`));
  }
  const values = parsed.data;
  const production = values.NODE_ENV === 'production';
  const problems: string[] = production ? productionSecretProblems(values) : [];
  const defaultsApplied: string[] = [];

  let apiKeys = values.API_KEYS;
  // In production API keys may all come from elsewhere (the database), so none is required here.
  if (apiKeys.length === 0 && !production) {
    apiKeys = [DEV_API_KEY];
    defaultsApplied.push(`API_KEYS=${DEV_API_KEY}`);
  }
  let adminUser = values.ADMIN_USER;
  let adminPassword = values.ADMIN_PASSWORD;
  if (!adminUser || !adminPassword) {
    adminUser ??= DEV_ADMIN_USER;
    adminPassword ??= DEV_ADMIN_PASSWORD;
    defaultsApplied.push(`ADMIN_USER=${adminUser} ADMIN_PASSWORD=<development default>`);
  }
  if (production && !values.SMTP_URL) problems.push('SMTP_URL: required in production');
  // Webhook secrets at rest: a development key unless production, which must bring its own.
  let webhookSecretKeys: SecretKey[] = [];
  const secretKeys = parseSecretKeys(values.WEBHOOK_SECRET_KEYS ?? DEV_WEBHOOK_SECRET_KEYS);
  if ('problem' in secretKeys) problems.push(`WEBHOOK_SECRET_KEYS: ${secretKeys.problem}`);
  else webhookSecretKeys = secretKeys.keys;
  if (values.WEBHOOK_SECRET_KEYS === undefined) {
    if (production) problems.push('WEBHOOK_SECRET_KEYS: required in production (<key id>:<base64 of 32 random bytes>, e.g. openssl rand -base64 32)');
    defaultsApplied.push('WEBHOOK_SECRET_KEYS=<development key "dev">');
  } else if (production && webhookSecretKeys.some(({ key }) => key.toString('base64') === DEV_WEBHOOK_SECRET_KEYS.slice('dev:'.length))) {
    problems.push('WEBHOOK_SECRET_KEYS: the development key cannot be used in production');
  }
  if (values.REDIS_URL.includes(',') && !/\{[^}]+\}/.test(values.QUEUE_PREFIX)) {
    // Without a hash tag a queue's keys spread over slots and BullMQ's scripts fail (CROSSSLOT).
    problems.push(`QUEUE_PREFIX: on a Redis Cluster it must contain a hash tag, e.g. {${values.QUEUE_PREFIX}}`);
  }
  const jobs = Object.fromEntries(
    Object.entries(JOB_RETENTION_VARIABLES).map(([queue, names]) => [
      queue,
      { completedMs: values[names.completed] as number, failedMs: values[names.failed] as number },
    ]),
  ) as Record<QueueName, JobRetention>;
  const rule = processedCommandRule(jobs.commands);
  if (values.RETENTION_PROCESSED_COMMANDS < rule.minimumMs) {
    problems.push(
      `RETENTION_PROCESSED_COMMANDS: ${formatDuration(values.RETENTION_PROCESSED_COMMANDS)} is shorter than ` +
        `${formatDuration(rule.minimumMs)}, the longest a job of a command can still run after the command was ` +
        `processed: ${rule.because}. A job that runs after its command's processed_commands row is gone applies ` +
        `the command a second time. Set it to at least ${formatDuration(rule.minimumMs)}.`,
    );
  }
  if (problems.length > 0) throw new ConfigError(problems);

  return {
    nodeEnv: values.NODE_ENV,
    databaseUrl: values.DATABASE_URL,
    databaseReadUrl: values.DATABASE_READ_URL,
    redisUrl: values.REDIS_URL,
    queuePrefix: values.QUEUE_PREFIX,
    port: values.PORT,
    host: values.HOST,
    apiKeys,
    admin: { user: adminUser, password: adminPassword },
    smtpUrl: values.SMTP_URL,
    mailFrom: values.MAIL_FROM,
    mailDir: values.MAIL_DIR,
    webhookAllowPrivate: values.WEBHOOK_ALLOW_PRIVATE,
    webhookRetrySchedule: values.WEBHOOK_RETRY_SCHEDULE,
    webhookDisableAfterMs: values.WEBHOOK_DISABLE_AFTER,
    webhookSecretOverlapMs: values.WEBHOOK_SECRET_OVERLAP,
    webhookSecretKeys,
    webhookDeliveryRate: values.WEBHOOK_DELIVERY_RATE,
    workerConcurrency: values.WORKER_CONCURRENCY,
    commandGroupMax: values.COMMAND_GROUP_MAX,
    commandGroupTransactions: values.COMMAND_GROUP_TRANSACTIONS,
    commandPipelining: values.COMMAND_PIPELINING,
    relayFirstAttempt: values.RELAY_FIRST_ATTEMPT,
    commandOrdering: values.COMMAND_ORDERING,
    commandAttempts: values.COMMAND_ATTEMPTS,
    webhookTimeoutMs: values.WEBHOOK_TIMEOUT_MS,
    workerLockMs: values.WORKER_LOCK_MS,
    sweepIntervalMs: values.SWEEP_INTERVAL_MS,
    sweepGraceMs: values.SWEEP_GRACE_MS,
    orderConfirmationTimeoutMs: values.ORDER_CONFIRMATION_TIMEOUT,
    rateLimitPerMinute: values.RATE_LIMIT_PER_MINUTE,
    maxQueuedCommands: values.MAX_QUEUED_COMMANDS,
    logLevel: values.LOG_LEVEL,
    metricsPort: values.METRICS_PORT,
    otel: values.OTEL_EXPORTER_OTLP_ENDPOINT
      ? { endpoint: values.OTEL_EXPORTER_OTLP_ENDPOINT, serviceName: values.OTEL_SERVICE_NAME }
      : undefined,
    adminLoginThrottle: { maxFailures: values.ADMIN_LOGIN_MAX_FAILURES, windowMs: values.ADMIN_LOGIN_WINDOW },
    trustProxy: values.TRUST_PROXY,
    retention: {
      outboxMs: values.RETENTION_OUTBOX,
      emailsMs: values.RETENTION_EMAILS,
      webhookDeliveriesMs: values.RETENTION_WEBHOOK_DELIVERIES,
      processedCommandsMs: values.RETENTION_PROCESSED_COMMANDS,
      gaveUpCommandsMs: values.RETENTION_GAVE_UP_COMMANDS,
      scheduleRunsMs: values.RETENTION_SCHEDULE_RUNS,
      intervalMs: values.RETENTION_INTERVAL,
      batchSize: values.RETENTION_BATCH_SIZE,
      jobs,
    },
    defaultsApplied,
  };
}
