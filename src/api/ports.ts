import type { CommandPayload, CommandType } from '../../queues/index.js';

// Ports of the HTTP edge. Their adapters live in src/infrastructure (which may not import
// src/api), so they satisfy these interfaces structurally; the composition root checks that.

/** Puts a validated command on the queue. Adding the same commandId twice must leave one job. */
export interface CommandSender {
  send(type: CommandType, payload: CommandPayload): Promise<void>;
}

/**
 * Atomic key-value records with a time to live, for Idempotency-Key handling. Values are
 * opaque strings; keys arrive already scoped and hashed.
 */
export interface IdempotencyStore {
  /** Stores `value` unless `key` exists; returns the value already stored, or null when this call stored it. */
  putIfAbsent(key: string, value: string, ttlSeconds: number): Promise<string | null>;
  /** Stores `value`, replacing what is there. */
  put(key: string, value: string, ttlSeconds: number): Promise<void>;
  /** Deletes `key` only while it still holds `expected`. */
  deleteIfEquals(key: string, expected: string): Promise<void>;
}
