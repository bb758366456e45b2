import { createHash } from 'node:crypto';
import type { Clock } from '../clock.js';
import { isScope, SCOPES, type Scope } from './principal.js';

// API keys as principals (docs/adr/0011-api-keys-and-scopes.md). An operator creates, lists and
// revokes them with the keys CLI; the web processes read the active ones to authenticate.

/** An API key as stored: never the key itself, only what tells keys apart and what each may do. */
export interface ApiKey {
  id: string;
  name: string;
  /** The visible start of the key (`cvk_1a2b3c4d`), for people to recognise it. */
  prefix: string;
  scopes: Scope[];
  /** Requests per minute; null: the configured default (RATE_LIMIT_PER_MINUTE). */
  rateLimitPerMinute: number | null;
  createdAt: Date;
  lastUsedAt: Date | null;
  revokedAt: Date | null;
}

/**
 * How a key is known without being kept: the hex SHA-256 of the whole key. The CLI stores it,
 * the web processes look requests up by it, so both use this one function. A key is 256 random
 * bits, so a fast hash is enough (ADR 0011).
 */
export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

/** A freshly issued key: the key itself (shown once), its visible prefix and the hash that is stored. */
export interface IssuedKey {
  key: string;
  prefix: string;
  hash: string;
}

export interface ApiKeyStore {
  add(key: ApiKey, hash: string): Promise<void>;
  /** Every key, revoked ones included, oldest first. */
  list(): Promise<ApiKey[]>;
  /** Revokes the key whose id or prefix is `ref`; returns it, or null when no active key matches. */
  revoke(ref: string, at: Date): Promise<ApiKey | null>;
}

export class InvalidApiKeyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidApiKeyError';
  }
}

export const MAX_KEY_NAME_LENGTH = 100;
/** The largest rate limit a key can have (the column is a PostgreSQL int). */
export const MAX_RATE_LIMIT_PER_MINUTE = 2_147_483_647;

export interface CreateApiKeyInput {
  name: string;
  scopes: string[];
  rateLimitPerMinute?: number | null;
}

/**
 * Creates a key: a name (1–100 characters, shown in logs and on the commands the key sends),
 * at least one scope of SCOPES, and optionally its own rate limit. Answers the key once.
 */
export class CreateApiKey {
  constructor(
    private readonly store: ApiKeyStore,
    private readonly issue: () => IssuedKey,
    private readonly newId: () => string,
    private readonly clock: Clock,
  ) {}

  async execute(input: CreateApiKeyInput): Promise<{ apiKey: ApiKey; key: string }> {
    const name = input.name.trim();
    if (name.length === 0 || name.length > MAX_KEY_NAME_LENGTH) {
      throw new InvalidApiKeyError(`a key's name has 1 to ${MAX_KEY_NAME_LENGTH} characters`);
    }
    const unknown = input.scopes.filter((scope) => !isScope(scope));
    if (unknown.length > 0 || input.scopes.length === 0) {
      throw new InvalidApiKeyError(
        `${unknown.length > 0 ? `unknown scope ${unknown.map((s) => `"${s}"`).join(', ')}; ` : ''}scopes are one or more of ${SCOPES.join(', ')}`,
      );
    }
    const rateLimit = input.rateLimitPerMinute ?? null;
    if (rateLimit !== null && (!Number.isInteger(rateLimit) || rateLimit < 1 || rateLimit > MAX_RATE_LIMIT_PER_MINUTE)) {
      throw new InvalidApiKeyError(`a rate limit is a whole number of requests per minute, from 1 to ${MAX_RATE_LIMIT_PER_MINUTE}`);
    }
    const issued = this.issue();
    const apiKey: ApiKey = {
      id: this.newId(),
      name,
      prefix: issued.prefix,
      scopes: SCOPES.filter((scope) => input.scopes.includes(scope)),
      rateLimitPerMinute: rateLimit,
      createdAt: this.clock.now(),
      lastUsedAt: null,
      revokedAt: null,
    };
    await this.store.add(apiKey, issued.hash);
    return { apiKey, key: issued.key };
  }
}
