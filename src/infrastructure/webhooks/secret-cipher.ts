import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { SECRET_PREFIX } from './signing.js';

// Webhook signing secrets at rest (docs/adr/0015-webhook-secrets-at-rest.md): AES-256-GCM
// under a key from WEBHOOK_SECRET_KEYS, stored as one self-describing string
//
//   enc:v1:<key id>:<iv>:<tag>:<ciphertext>        (iv, tag, ciphertext: base64url)
//
// with a random 12-byte IV per encryption, and the row and column it belongs to as additional
// authenticated data, so a value copied into another row or column does not decrypt. The key
// id says which key opens it: the first key seals, every key opens, so a new key can be
// added, the rows re-encrypted (npm run webhooks:reencrypt) and then the old key dropped.

/** One key of WEBHOOK_SECRET_KEYS: its id (stored with every value it sealed) and 32 bytes. */
export interface SecretKey {
  id: string;
  key: Buffer;
}

/** The columns of webhook_endpoints that hold a secret. */
export const SECRET_COLUMNS = ['secret', 'previous_secret'] as const;
export type SecretColumn = (typeof SECRET_COLUMNS)[number];

/** Where a stored secret lives: bound into its ciphertext. */
export interface SecretPlace {
  endpointId: string;
  column: SecretColumn;
}

/** A key id as WEBHOOK_SECRET_KEYS and the stored format allow it. */
export const KEY_ID = /^[A-Za-z0-9_-]{1,32}$/;
export const KEY_BYTES = 32;

const PREFIX = 'enc:v1:';
const IV_BYTES = 12;
const TAG_BYTES = 16;
const BASE64URL = /^[A-Za-z0-9_-]*$/;

export type UnreadableReason = 'unknown_key' | 'tampered' | 'malformed';

/** A stored secret that cannot be opened: its message says which key or what is wrong. */
export class SecretUnreadableError extends Error {
  override name = 'SecretUnreadableError';
  constructor(
    readonly reason: UnreadableReason,
    message: string,
    /** The key id the value names, when it names one. */
    readonly keyId?: string,
  ) {
    super(message);
  }
}

/** What a stored value is, without opening it. */
export type StoredSecretKind =
  | { kind: 'plaintext' }
  | { kind: 'encrypted'; keyId: string }
  | { kind: 'malformed' };

/**
 * Keeps what `open` returned for a while (the webhooks worker's, see `open`): at most
 * `maxEntries` values, each for `ttlMs` after it was opened.
 */
export interface OpenCacheOptions {
  ttlMs: number;
  maxEntries: number;
}

export class WebhookSecretCipher {
  private readonly keys: ReadonlyMap<string, Buffer>;
  /** The id of the key new values are sealed with (the first of WEBHOOK_SECRET_KEYS). */
  readonly currentKeyId: string;
  /** Plaintexts by place and stored value, oldest first (their expiry follows insertion). */
  private readonly opened: Map<string, { plaintext: string; expiresAt: number }> | undefined;

  constructor(
    keys: readonly SecretKey[],
    private readonly openCache?: OpenCacheOptions,
    private readonly now: () => number = Date.now,
  ) {
    const [first] = keys;
    if (!first) throw new Error('a webhook secret cipher needs at least one key');
    for (const { id, key } of keys) {
      if (!KEY_ID.test(id)) throw new Error(`webhook secret key id ${JSON.stringify(id)} must be 1-32 of A-Z a-z 0-9 _ -`);
      if (key.length !== KEY_BYTES) throw new Error(`webhook secret key ${id} must be ${KEY_BYTES} bytes`);
    }
    this.keys = new Map(keys.map(({ id, key }) => [id, Buffer.from(key)]));
    if (this.keys.size !== keys.length) throw new Error('webhook secret key ids must be unique');
    this.currentKeyId = first.id;
    if (openCache) this.opened = new Map();
  }

  /** The key ids this cipher can open, the sealing one first. */
  get keyIds(): string[] {
    return [...this.keys.keys()];
  }

  /** Encrypts `plaintext` for `place` under the current key, with a fresh IV. */
  seal(plaintext: string, place: SecretPlace): string {
    const key = this.keys.get(this.currentKeyId) as Buffer;
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(aad(this.currentKeyId, place));
    const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    const tag = cipher.getAuthTag();
    return [PREFIX + this.currentKeyId, b64(iv), b64(tag), b64(ciphertext)].join(':');
  }

  /**
   * The plaintext of a stored value. A value in the sealed format must open with the key it
   * names, for this place; a `whsec_…` value is one stored before secrets were encrypted
   * (it is returned as it is: the release step and the re-encrypt command seal it). Anything
   * else throws SecretUnreadableError.
   *
   * With an open cache (the webhooks worker: every delivery to an endpoint opens the same
   * value), a value opened within `ttlMs` is answered from memory. It is keyed by the stored
   * text and its place, so it can never answer for another value: a rotation or a
   * re-encryption writes a new text (a fresh IV), which is opened afresh. Values that do not
   * open are not kept, and a plaintext stays in memory `ttlMs` at most.
   */
  open(stored: string, place: SecretPlace): string {
    const opened = this.opened;
    if (!opened) return this.decrypt(stored, place);
    const now = this.now();
    // The oldest first: drop what expired, so no plaintext outlives its ttl by much.
    for (const [key, entry] of opened) {
      if (entry.expiresAt > now) break;
      opened.delete(key);
    }
    const { ttlMs, maxEntries } = this.openCache as OpenCacheOptions;
    const key = `${place.endpointId}/${place.column}/${stored}`;
    const hit = opened.get(key);
    // Checked on the hit too: a clock stepped back must not keep a plaintext past its ttl.
    if (hit && hit.expiresAt > now && hit.expiresAt - now <= ttlMs) return hit.plaintext;
    if (hit) opened.delete(key);
    const plaintext = this.decrypt(stored, place);
    if (opened.size >= maxEntries) opened.delete(opened.keys().next().value as string);
    opened.set(key, { plaintext, expiresAt: now + ttlMs });
    return plaintext;
  }

  private decrypt(stored: string, place: SecretPlace): string {
    const what = `the ${place.column} of webhook endpoint ${place.endpointId}`;
    const kind = this.inspect(stored);
    if (kind.kind === 'plaintext') return stored;
    if (kind.kind === 'malformed') throw new SecretUnreadableError('malformed', `${what} is neither encrypted nor a whsec_ secret`);
    const key = this.keys.get(kind.keyId);
    if (!key) {
      throw new SecretUnreadableError(
        'unknown_key',
        `${what} is encrypted with key id "${kind.keyId}", which WEBHOOK_SECRET_KEYS does not hold ` +
          `(it holds ${this.keyIds.map((id) => `"${id}"`).join(', ')}): add that key back`,
        kind.keyId,
      );
    }
    const [, , , ivText, tagText, ciphertextText] = stored.split(':') as [string, string, string, string, string, string];
    const iv = Buffer.from(ivText, 'base64url');
    const tag = Buffer.from(tagText, 'base64url');
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
      decipher.setAAD(aad(kind.keyId, place));
      decipher.setAuthTag(tag);
      return Buffer.concat([decipher.update(Buffer.from(ciphertextText, 'base64url')), decipher.final()]).toString('utf8');
    } catch {
      throw new SecretUnreadableError(
        'tampered',
        `${what} does not authenticate under key "${kind.keyId}": it was altered, or copied from another endpoint or column`,
        kind.keyId,
      );
    }
  }

  /** Whether a stored value is sealed (and under which key id), legacy plaintext, or neither. */
  inspect(stored: string): StoredSecretKind {
    if (stored.startsWith(SECRET_PREFIX)) return { kind: 'plaintext' };
    if (!stored.startsWith(PREFIX)) return { kind: 'malformed' };
    const parts = stored.split(':');
    if (parts.length !== 6) return { kind: 'malformed' };
    const [, , keyId, iv, tag, ciphertext] = parts as [string, string, string, string, string, string];
    if (!KEY_ID.test(keyId) || ![iv, tag, ciphertext].every((part) => BASE64URL.test(part))) return { kind: 'malformed' };
    if (Buffer.from(iv, 'base64url').length !== IV_BYTES || Buffer.from(tag, 'base64url').length !== TAG_BYTES) {
      return { kind: 'malformed' };
    }
    return { kind: 'encrypted', keyId };
  }
}

/**
 * The additional authenticated data: the format version, the key id, and the row and column
 * the value belongs to.
 */
function aad(keyId: string, place: SecretPlace): Buffer {
  return Buffer.from(`conveyor/webhook_endpoints/v1/${keyId}/${place.endpointId}/${place.column}`, 'utf8');
}

function b64(bytes: Buffer): string {
  return bytes.toString('base64url');
}

/**
 * Parses WEBHOOK_SECRET_KEYS: comma-separated `<key id>:<base64 of 32 bytes>`. The keys, or
 * the reason the value is refused (never quoting a key).
 */
export function parseSecretKeys(value: string): { keys: SecretKey[] } | { problem: string } {
  const keys: SecretKey[] = [];
  const entries = value
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry.length > 0);
  if (entries.length === 0) return { problem: 'must hold at least one <key id>:<base64 of 32 bytes>' };
  for (const [index, entry] of entries.entries()) {
    const colon = entry.indexOf(':');
    const id = colon < 0 ? '' : entry.slice(0, colon);
    const encoded = colon < 0 ? '' : entry.slice(colon + 1);
    const which = `entry ${index + 1}`;
    if (!KEY_ID.test(id)) return { problem: `${which} must be <key id>:<base64 key>, the key id 1-32 of A-Z a-z 0-9 _ -` };
    if (keys.some((key) => key.id === id)) return { problem: `key id "${id}" appears twice` };
    const key = /^[A-Za-z0-9+/_-]+={0,2}$/.test(encoded) ? Buffer.from(encoded, encoded.includes('-') || encoded.includes('_') ? 'base64url' : 'base64') : Buffer.alloc(0);
    if (key.length !== KEY_BYTES) {
      return { problem: `key "${id}" must be base64 of exactly ${KEY_BYTES} random bytes (e.g. openssl rand -base64 32), got ${key.length} bytes` };
    }
    keys.push({ id, key });
  }
  return { keys };
}
