import type { Principal } from '../application/access/principal.js';
import type { CommandPayload, CommandType, SendOptions } from '../../queues/index.js';

// Ports of the HTTP edge. Their adapters live in src/infrastructure (which may not import
// src/api), so they satisfy these interfaces structurally; the composition root checks that.

/** Puts a validated command on the queue. Adding the same commandId twice must leave one job. */
export interface CommandSender {
  send(type: CommandType, payload: CommandPayload, options?: SendOptions): Promise<void>;
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
 * The API keys stored in PostgreSQL, as a web process holds them (docs/adr/0011-api-keys-and-scopes.md):
 * the principal of the key whose SHA-256 (hex) is `hash`, if it is active.
 */
export interface PrincipalDirectory {
  lookup(hash: string): Principal | undefined;
}

/**
 * How many commands the `commands` queue holds that have not finished (waiting, delayed,
 * prioritized, waiting for children, running): one Redis round trip. The intake reads it at
 * most every QUEUE_DEPTH_REFRESH_MS (load-shedding.ts), not on every request.
 */
export interface QueueDepth {
  queuedCommands(): Promise<number>;
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
