import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { IdempotencyStore } from './ports.js';

/** How long an Idempotency-Key is remembered (docs/design.md §3). */
export const IDEMPOTENCY_TTL_SECONDS = 24 * 3600;

export const idempotencyKeyHeader = z
  .string()
  .regex(/^[\x21-\x7e]{1,255}$/, 'must be 1 to 255 visible ASCII characters')
  .describe('makes the request safe to retry: the same key and body return the first answer for 24 h');

const storedResponseSchema = z.object({
  statusCode: z.int(),
  body: z.record(z.string(), z.string()),
});

const recordSchema = z.object({
  fingerprint: z.string(),
  // pending: reserved and being enqueued; completed: the job is on the queue.
  state: z.enum(['pending', 'completed']),
  response: storedResponseSchema,
});

/** The answer to a command request; it carries the ids, so it is all a retry needs. */
export type StoredResponse = z.infer<typeof storedResponseSchema>;

export type Reservation =
  /** This request holds the key: enqueue, then `complete` (the key is never released early). */
  | { kind: 'reserved'; complete: () => Promise<void> }
  /**
   * Another request with the same key and body holds it and may still be enqueueing. Sending
   * the command again with the same ids is harmless (the job id is the command id), so this
   * request does that and answers with the same response.
   */
  | { kind: 'in-flight'; response: StoredResponse; complete: () => Promise<void> }
  | { kind: 'completed'; response: StoredResponse }
  /** Same key, other request: 422. */
  | { kind: 'mismatch' };

function sha256Hex(value: string): string {
  return createHash('sha256').update(value, 'utf8').digest('hex');
}

/** JSON with object keys sorted at every level, so equal bodies hash alike whatever their key order. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, inner: unknown) => {
    if (inner === null || typeof inner !== 'object' || Array.isArray(inner)) return inner;
    return Object.fromEntries(Object.entries(inner as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  });
}

export interface IdempotencyScope {
  /** SHA-256 of the caller's API key (never the key itself). */
  callerId: string;
  /** The route, e.g. `POST /v1/orders/:orderId/confirm`. */
  route: string;
  key: string;
}

/** The Idempotency-Key protocol on top of an atomic key-value store. */
export class IdempotencyKeys {
  constructor(
    private readonly store: IdempotencyStore,
    private readonly ttlSeconds = IDEMPOTENCY_TTL_SECONDS,
  ) {}

  /**
   * Method, concrete path, canonical body and Run-At (the instant, whatever offset named it):
   * what makes two requests "the same". Without Run-At it is what it always was, so keys stored
   * before Run-At existed still match.
   */
  static fingerprint(method: string, path: string, body: unknown, runAt?: Date): string {
    const schedule = runAt ? `\nrun-at ${runAt.toISOString()}` : '';
    return sha256Hex(`${method} ${path}\n${canonicalJson(body)}${schedule}`);
  }

  /**
   * Whether an earlier request with this key and fingerprint holds the key, without reserving
   * it: a retry of a request that was valid when first sent (its Run-At has passed since) is
   * answered as a replay rather than refused.
   */
  async isReplay(scope: IdempotencyScope, fingerprint: string): Promise<boolean> {
    const existing = await this.store.get(IdempotencyKeys.storeKey(scope));
    return existing !== null && recordSchema.parse(JSON.parse(existing)).fingerprint === fingerprint;
  }

  private static storeKey(scope: IdempotencyScope): string {
    return sha256Hex(`${scope.callerId}\n${scope.route}\n${scope.key}`);
  }

  /**
   * Reserves the key for `response` atomically (SET NX), or reports what an earlier request
   * with the same key left there.
   */
  async reserve(scope: IdempotencyScope, fingerprint: string, response: StoredResponse): Promise<Reservation> {
    const key = IdempotencyKeys.storeKey(scope);
    const pending = JSON.stringify({ fingerprint, state: 'pending', response });
    const existing = await this.store.putIfAbsent(key, pending, this.ttlSeconds);
    const complete = (stored: StoredResponse) => () =>
      this.store.put(key, JSON.stringify({ fingerprint, state: 'completed', response: stored }), this.ttlSeconds);
    if (existing === null) {
      return { kind: 'reserved', complete: complete(response) };
    }
    const record = recordSchema.parse(JSON.parse(existing));
    if (record.fingerprint !== fingerprint) return { kind: 'mismatch' };
    if (record.state === 'completed') return { kind: 'completed', response: record.response };
    return { kind: 'in-flight', response: record.response, complete: complete(record.response) };
  }
}
