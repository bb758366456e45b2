import type { CommandPayload, CommandType } from '../../queues/index.js';

// Ports of the HTTP edge. Their adapters live in src/infrastructure (which may not import
// src/api), so they satisfy these interfaces structurally; the composition root checks that.

/** Puts a validated command on the queue. Adding the same commandId twice must leave one job. */
export interface CommandSender {
  /** `runAt`: a scheduled command (Run-At), due then; without it the command runs as soon as a worker takes it. */
  send(type: CommandType, payload: CommandPayload, options?: { runAt?: Date | undefined }): Promise<void>;
}

/**
 * Atomic key-value records with a time to live, for Idempotency-Key handling. Values are
 * opaque strings; keys arrive already scoped and hashed.
 */
export interface IdempotencyStore {
  /** Stores `value` unless `key` exists; returns the value already stored, or null when this call stored it. */
  putIfAbsent(key: string, value: string, ttlSeconds: number): Promise<string | null>;
  /** The value stored under `key`, or null. */
  get(key: string): Promise<string | null>;
  /** Stores `value`, replacing what is there. */
  put(key: string, value: string, ttlSeconds: number): Promise<void>;
}

/**
 * The process's Prometheus metrics, as the HTTP edge sees them: it records every answered
 * request and serves the registry on GET /metrics.
 */
export interface ApiMetrics {
  /** One answered request; `route` is the route pattern (`/v1/orders/:orderId`), never the raw URL. */
  observeRequest(method: string, route: string, statusCode: number, seconds: number): void;
  /** Content type of the exposition (Prometheus text format). */
  readonly contentType: string;
  /** Every metric of the process, as Prometheus text. */
  render(): Promise<string>;
}

/**
 * Failed logins to Bull Board, counted per client in a fixed window shared by every web
 * replica (Redis). A client whose failures reached the limit is refused until its window ends,
 * whatever it sends; one client's failures never touch another's count, and a success resets
 * nothing.
 */
export interface LoginThrottle {
  /** Seconds until `client` may log in again (at least 1), or 0 when it may log in now. */
  blockedFor(client: string): Promise<number>;
  /**
   * Counts a failed login of `client`; returns what `blockedFor` would return afterwards, except
   * that the failure that reaches the limit still returns 0 (it is answered as a failure; the
   * next attempt is refused).
   */
  recordFailure(client: string): Promise<number>;
}
