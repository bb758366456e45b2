import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  SecretUnreadableError,
  WebhookSecretCipher,
  parseSecretKeys,
  type SecretPlace,
} from '../../../../src/infrastructure/webhooks/secret-cipher.js';
import { generateWebhookSecret } from '../../../../src/infrastructure/webhooks/signing.js';

const keyA = { id: 'a', key: randomBytes(32) };
const keyB = { id: 'b-2026', key: randomBytes(32) };
const place: SecretPlace = { endpointId: '01900000-0000-7000-8000-000000000001', column: 'secret' };
const secret = generateWebhookSecret();

function unreadable(run: () => unknown): SecretUnreadableError {
  try {
    run();
  } catch (error) {
    if (error instanceof SecretUnreadableError) return error;
    throw error;
  }
  throw new Error('expected SecretUnreadableError');
}

describe('WebhookSecretCipher', () => {
  it('seals into the self-describing format, holding no trace of the plaintext, and opens it again', () => {
    const cipher = new WebhookSecretCipher([keyA]);
    const sealed = cipher.seal(secret, place);
    expect(sealed).toMatch(/^enc:v1:a:[A-Za-z0-9_-]{16}:[A-Za-z0-9_-]{22}:[A-Za-z0-9_-]+$/);
    expect(sealed).not.toContain(secret.slice('whsec_'.length));
    expect(sealed).not.toContain(Buffer.from(secret).toString('base64url').slice(8, 40));
    expect(cipher.inspect(sealed)).toEqual({ kind: 'encrypted', keyId: 'a' });
    expect(cipher.open(sealed, place)).toBe(secret);
  });

  it('uses a fresh IV every time: the same secret never seals to the same text', () => {
    const cipher = new WebhookSecretCipher([keyA]);
    const sealed = new Set(Array.from({ length: 50 }, () => cipher.seal(secret, place)));
    expect(sealed.size).toBe(50);
    const ivs = new Set([...sealed].map((value) => value.split(':')[3]));
    expect(ivs.size).toBe(50);
  });

  it('binds the value to its endpoint and column: copied elsewhere it does not open', () => {
    const cipher = new WebhookSecretCipher([keyA]);
    const sealed = cipher.seal(secret, place);
    const otherRow = unreadable(() => cipher.open(sealed, { ...place, endpointId: '01900000-0000-7000-8000-000000000002' }));
    expect(otherRow.reason).toBe('tampered');
    expect(unreadable(() => cipher.open(sealed, { ...place, column: 'previous_secret' })).reason).toBe('tampered');
  });

  it('refuses a value altered in its ciphertext, tag or IV, naming the endpoint and column', () => {
    const cipher = new WebhookSecretCipher([keyA]);
    const parts = cipher.seal(secret, place).split(':');
    for (const index of [3, 4, 5]) {
      const altered = [...parts];
      const bytes = Buffer.from(altered[index]!, 'base64url');
      bytes[0] = bytes[0]! ^ 0x01;
      altered[index] = bytes.toString('base64url');
      const error = unreadable(() => cipher.open(altered.join(':'), place));
      expect(error.reason).toBe('tampered');
      expect(error.message).toContain(`the secret of webhook endpoint ${place.endpointId}`);
    }
    // The key id is authenticated too: another key of the same cipher does not open it either.
    const both = new WebhookSecretCipher([keyA, keyB]);
    const relabelled = both.seal(secret, place).replace('enc:v1:a:', 'enc:v1:b-2026:');
    expect(unreadable(() => both.open(relabelled, place)).reason).toBe('tampered');
  });

  it('seals with the first key and opens with any: the rotation story', () => {
    const old = new WebhookSecretCipher([keyA]);
    const underA = old.seal(secret, place);
    const rotating = new WebhookSecretCipher([keyB, keyA]);
    expect(rotating.currentKeyId).toBe('b-2026');
    expect(rotating.open(underA, place)).toBe(secret);
    const underB = rotating.seal(secret, place);
    expect(rotating.inspect(underB)).toEqual({ kind: 'encrypted', keyId: 'b-2026' });
    // Once the old key is dropped, what it sealed no longer opens, with a reason that says which key to add back.
    const rotated = new WebhookSecretCipher([keyB]);
    expect(rotated.open(underB, place)).toBe(secret);
    const error = unreadable(() => rotated.open(underA, place));
    expect(error).toMatchObject({ reason: 'unknown_key', keyId: 'a' });
    expect(error.message).toMatch(/key id "a", which WEBHOOK_SECRET_KEYS does not hold \(it holds "b-2026"\): add that key back/);
    expect(error.message).not.toContain(keyA.key.toString('base64'));
  });

  it('passes a whsec_ plaintext from before encryption through, and refuses anything else', () => {
    const cipher = new WebhookSecretCipher([keyA]);
    expect(cipher.inspect(secret)).toEqual({ kind: 'plaintext' });
    expect(cipher.open(secret, place)).toBe(secret);
    for (const value of ['', 'hello', 'enc:v1:a:xx', 'enc:v1:a:!!:!!:!!', 'enc:v2:a:AAAAAAAAAAAAAAAA:AAAAAAAAAAAAAAAAAAAAAA:AA']) {
      expect(cipher.inspect(value)).toEqual({ kind: 'malformed' });
      expect(unreadable(() => cipher.open(value, place)).reason).toBe('malformed');
    }
  });

  it('refuses keys of the wrong length and duplicate ids', () => {
    expect(() => new WebhookSecretCipher([])).toThrow(/at least one key/);
    expect(() => new WebhookSecretCipher([{ id: 'a', key: randomBytes(16) }])).toThrow(/32 bytes/);
    expect(() => new WebhookSecretCipher([keyA, { ...keyB, id: 'a' }])).toThrow(/unique/);
  });
});

describe('WebhookSecretCipher with an open cache (the webhooks worker)', () => {
  function cached(options = { ttlMs: 60_000, maxEntries: 1_000 }) {
    let now = 1_000_000;
    const sealer = new WebhookSecretCipher([keyA]);
    const cipher = new WebhookSecretCipher([keyA], options, () => now);
    return { sealer, cipher, advance: (ms: number) => (now += ms) };
  }

  it('never answers for another stored value: a rotated or re-encrypted secret is opened afresh', () => {
    const { sealer, cipher } = cached();
    const before = sealer.seal(secret, place);
    expect(cipher.open(before, place)).toBe(secret);
    // A rotation writes a new secret; a re-encryption the same secret under a fresh IV.
    const rotated = generateWebhookSecret();
    expect(cipher.open(sealer.seal(rotated, place), place)).toBe(rotated);
    expect(cipher.open(sealer.seal(secret, place), place)).toBe(secret);
    // The value cached for one place does not open at another (its AAD is checked again).
    expect(unreadable(() => cipher.open(before, { ...place, column: 'previous_secret' })).reason).toBe('tampered');
    expect(unreadable(() => cipher.open(before, { ...place, endpointId: '01900000-0000-7000-8000-000000000002' })).reason).toBe('tampered');
  });

  /**
   * A value opened once, then the key that opened it taken away: from then on only the cache can
   * answer for it (the proof of a hit), and a miss fails `unknown_key`.
   */
  function openedThenKeyGone() {
    const { sealer, cipher, advance } = cached({ ttlMs: 60_000, maxEntries: 1_000 });
    const sealed = sealer.seal(secret, place);
    expect(cipher.open(sealed, place)).toBe(secret);
    (cipher as unknown as { keys: Map<string, Buffer> }).keys.delete('a');
    return { open: () => cipher.open(sealed, place), advance };
  }

  it('answers a value opened within the ttl from memory, and opens it again after', () => {
    const { open, advance } = openedThenKeyGone();
    advance(59_999);
    expect(open()).toBe(secret);
    advance(1);
    expect(unreadable(open).reason).toBe('unknown_key');
  });

  it('keeps no plaintext past its ttl when the clock steps back', () => {
    const { open, advance } = openedThenKeyGone();
    // An hour back: the entry would look valid for another hour; it is opened afresh instead.
    advance(-3_600_000);
    expect(unreadable(open).reason).toBe('unknown_key');
  });

  it('keeps no value that does not open, and no more than maxEntries', () => {
    const { sealer, cipher } = cached({ ttlMs: 60_000, maxEntries: 2 });
    const parts = sealer.seal(secret, place).split(':');
    parts[5] = Buffer.from('altered').toString('base64url');
    const altered = parts.join(':');
    expect(unreadable(() => cipher.open(altered, place)).reason).toBe('tampered');
    expect(unreadable(() => cipher.open(altered, place)).reason).toBe('tampered');
    const values = [0, 1, 2].map(() => sealer.seal(generateWebhookSecret(), place));
    for (const value of values) cipher.open(value, place);
    const opened = (cipher as unknown as { opened: Map<string, unknown> }).opened;
    expect(opened.size).toBe(2);
    expect([...opened.keys()].map((entry) => entry.split('/').pop())).toEqual(values.slice(1));
  });
});

describe('parseSecretKeys (WEBHOOK_SECRET_KEYS)', () => {
  const b64 = keyA.key.toString('base64');

  it('reads comma-separated <key id>:<base64>, first one first, base64url too', () => {
    const parsed = parseSecretKeys(` new:${keyB.key.toString('base64url')} , a:${b64}`);
    expect(parsed).toEqual({ keys: [{ id: 'new', key: keyB.key }, { id: 'a', key: keyA.key }] });
  });

  it.each([
    ['', /at least one/],
    [b64, /must be <key id>:<base64 key>/],
    [`a b:${b64}`, /must be <key id>:<base64 key>/],
    [`a:${randomBytes(16).toString('base64')}`, /exactly 32 random bytes .* got 16 bytes/],
    [`a:${randomBytes(33).toString('base64')}`, /got 33 bytes/],
    ['a:not base64!', /got 0 bytes/],
    [`a:${b64},a:${b64}`, /"a" appears twice/],
  ])('refuses %j with a reason that never quotes the key', (value, reason) => {
    const parsed = parseSecretKeys(value);
    expect(parsed).toEqual({ problem: expect.stringMatching(reason) });
    expect('problem' in parsed && parsed.problem).not.toContain(b64);
  });
});
