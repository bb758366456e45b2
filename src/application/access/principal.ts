/**
 * Who is calling the API: one API key, with what it may do. Keys are principals (issue 14):
 * each has a name (shown in logs and on the commands it sent) and a set of scopes.
 */
export const SCOPES = ['commands:write', 'queries:read', 'webhooks:manage', 'operations'] as const;

export type Scope = (typeof SCOPES)[number];

export interface Principal {
  /** The key's id (`api_keys.id`), or `env:<prefix>` for a development key from API_KEYS. */
  readonly keyId: string;
  /** The key's name: what logs and the command status show as the sender. */
  readonly name: string;
  readonly scopes: ReadonlySet<Scope>;
  /** Requests per minute this key may make; null means the configured default. */
  readonly rateLimitPerMinute: number | null;
}

export function isScope(value: string): value is Scope {
  return (SCOPES as readonly string[]).includes(value);
}
