import { ConnectionException } from '@mikro-orm/core';
import { QueueUnavailableError } from './queue/bullmq-command-sender.js';

// Which failures of PostgreSQL and Redis are transient: the request or job was fine, the
// backing service was not (unreachable, going away, or refusing writes for now), so the same
// work may succeed later. The API answers these with 503 + Retry-After; the command worker
// logs them as such when BullMQ retries the job.

/** Node's network errors and PostgreSQL's SQLSTATEs for a connection that failed or a server going away. */
const TRANSIENT_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  '57P01', // admin_shutdown
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now
  '08000', // connection_exception
  '08001', // sqlclient_unable_to_establish_sqlconnection
  '08003', // connection_does_not_exist
  '08006', // connection_failure
  '53300', // too_many_connections
]);

/** Error classes whose instances are transient by definition. */
const TRANSIENT_CLASSES: readonly (abstract new (...args: never[]) => Error)[] = [
  ConnectionException, // MikroORM: the driver lost or could not open a connection
  QueueUnavailableError, // ours: the command queue's Redis connection is not ready
];

/** ioredis does not export this class (its package exports only the client classes). */
const TRANSIENT_CLASS_NAMES: ReadonlySet<string> = new Set(['MaxRetriesPerRequestError']);

/**
 * Errors that carry neither a code nor a class of their own, only a message: ioredis's closed
 * or unwritable stream, Redis error replies (their first word is the reply's code: OOM when
 * maxmemory is reached, READONLY on a replica), and pg / pg-pool losing or not getting a
 * connection.
 */
const TRANSIENT_MESSAGES = [
  /Connection is closed/i,
  /Stream isn't writeable/i,
  /MaxRetriesPerRequest/i,
  /OOM command not allowed/i,
  /READONLY/i,
  /Connection terminated/i,
  /timeout exceeded when trying to connect/i,
  /the database system is (starting up|shutting down)/i,
];

/** Whether `error` (or an error in its `cause` chain) is a transient failure of PostgreSQL or Redis. */
export function isTransient(error: unknown, depth = 0): boolean {
  if (!(error instanceof Error) || depth > 5) return false;
  const { code } = error as { code?: unknown };
  if (typeof code === 'string' && TRANSIENT_CODES.has(code)) return true;
  if (TRANSIENT_CLASSES.some((type) => error instanceof type) || TRANSIENT_CLASS_NAMES.has(error.name)) return true;
  if (TRANSIENT_MESSAGES.some((pattern) => pattern.test(error.message))) return true;
  return isTransient((error as { cause?: unknown }).cause, depth + 1);
}
