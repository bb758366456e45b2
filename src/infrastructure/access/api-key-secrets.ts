import { randomBytes } from 'node:crypto';
import { hashApiKey, type IssuedKey } from '../../application/access/api-keys.js';

// The shape of a key: `cvk_<8 hex>_<43 base64url>`. The first part is its visible prefix (kept
// in the table, shown by `keys list` and in no way secret); the rest is 256 random bits. A key
// that random needs no slow password hash (hashApiKey, ADR 0011).

const PREFIX = 'cvk_';

export function issueApiKey(): IssuedKey {
  const prefix = `${PREFIX}${randomBytes(4).toString('hex')}`;
  const key = `${prefix}_${randomBytes(32).toString('base64url')}`;
  return { key, prefix, hash: hashApiKey(key) };
}
