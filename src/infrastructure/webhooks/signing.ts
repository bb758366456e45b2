import { createHmac, randomBytes } from 'node:crypto';

// Standard Webhooks (https://www.standardwebhooks.com, "Symmetric signatures"): the receiver
// recomputes HMAC-SHA256 over "id.timestamp.body" with the secret and compares it with the
// `webhook-signature` header; the timestamp lets it refuse replays of old messages.

export const SECRET_PREFIX = 'whsec_';

/** 32 random bytes: the spec asks for 24 to 64. */
const SECRET_BYTES = 32;

/** A new endpoint secret: `whsec_` + base64 of 32 random bytes. */
export function generateWebhookSecret(): string {
  return SECRET_PREFIX + randomBytes(SECRET_BYTES).toString('base64');
}

function secretKey(secret: string): Buffer {
  const encoded = secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret;
  const key = Buffer.from(encoded, 'base64');
  if (key.length === 0) throw new Error('webhook secret is empty');
  return key;
}

export interface SignedContent {
  /** The `webhook-id`: the delivery id, stable across retries. */
  id: string;
  /** The moment of the attempt; sent and signed as whole unix seconds. */
  timestamp: Date;
  /** The exact bytes that are sent. */
  body: string;
}

/** The `webhook-signature` value: `v1,` + base64 HMAC-SHA256 of "id.timestamp.body". */
export function signWebhook(secret: string, content: SignedContent): string {
  const hmac = createHmac('sha256', secretKey(secret))
    .update(`${content.id}.${unixSeconds(content.timestamp)}.${content.body}`)
    .digest('base64');
  return `v1,${hmac}`;
}

/**
 * The `webhook-signature` value for several secrets: one `v1,<signature>` entry per secret,
 * separated by spaces, as Standard Webhooks allows (a receiver accepts the message when any
 * entry verifies with its secret). During the overlap after a rotation the secrets are the
 * new and the previous one, so a receiver that knows only one of them still verifies.
 */
export function signatureHeader(secrets: readonly string[], content: SignedContent): string {
  if (secrets.length === 0) throw new Error('a webhook needs at least one secret to be signed with');
  return secrets.map((secret) => signWebhook(secret, content)).join(' ');
}

/** The three Standard Webhooks headers of one attempt, signed with each of `secrets`. */
export function webhookHeaders(secrets: readonly string[], content: SignedContent): Record<string, string> {
  return {
    'webhook-id': content.id,
    'webhook-timestamp': String(unixSeconds(content.timestamp)),
    'webhook-signature': signatureHeader(secrets, content),
  };
}

function unixSeconds(at: Date): number {
  return Math.floor(at.getTime() / 1000);
}
