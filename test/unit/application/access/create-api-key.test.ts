import { describe, expect, test } from 'vitest';
import { CreateApiKey, InvalidApiKeyError, type ApiKey, type ApiKeyStore } from '../../../../src/application/access/api-keys.js';

class MemoryKeys implements ApiKeyStore {
  readonly rows: { key: ApiKey; hash: string }[] = [];
  async add(key: ApiKey, hash: string): Promise<void> {
    this.rows.push({ key, hash });
  }
  async list(): Promise<ApiKey[]> {
    return this.rows.map((row) => row.key);
  }
  async revoke(): Promise<ApiKey | null> {
    return null;
  }
}

const now = new Date('2026-12-02T10:00:00.000Z');
function create(store = new MemoryKeys()) {
  let n = 0;
  const issue = () => ({ key: `cvk_0000000${++n}_secret`, prefix: `cvk_0000000${n}`, hash: `hash-${n}` });
  return { store, useCase: new CreateApiKey(store, issue, () => `id-${n}`, { now: () => now }) };
}

describe('CreateApiKey', () => {
  test('stores the hash, never the key, and answers the key once', async () => {
    const { store, useCase } = create();
    const created = await useCase.execute({ name: '  shop ', scopes: ['queries:read', 'commands:write'] });
    expect(created.key).toBe('cvk_00000001_secret');
    expect(created.apiKey).toEqual({
      id: 'id-1',
      name: 'shop',
      prefix: 'cvk_00000001',
      // In the order of SCOPES, whatever order they were given in.
      scopes: ['commands:write', 'queries:read'],
      rateLimitPerMinute: null,
      createdAt: now,
      lastUsedAt: null,
      revokedAt: null,
    });
    expect(store.rows).toEqual([{ key: created.apiKey, hash: 'hash-1' }]);
    expect(JSON.stringify(store.rows)).not.toContain(created.key);
  });

  test('keeps a rate limit of its own', async () => {
    const { useCase } = create();
    expect((await useCase.execute({ name: 'batch', scopes: ['operations'], rateLimitPerMinute: 30 })).apiKey.rateLimitPerMinute).toBe(30);
  });

  test.each([
    [{ name: '', scopes: ['operations'] }, /name has 1 to 100 characters/],
    [{ name: 'x'.repeat(101), scopes: ['operations'] }, /name has 1 to 100 characters/],
    [{ name: 'shop', scopes: [] }, /scopes are one or more of commands:write, queries:read, webhooks:manage, operations/],
    [{ name: 'shop', scopes: ['admin', 'queries:read'] }, /unknown scope "admin"/],
    [{ name: 'shop', scopes: ['operations'], rateLimitPerMinute: 0 }, /from 1 to/],
    [{ name: 'shop', scopes: ['operations'], rateLimitPerMinute: 1.5 }, /whole number/],
    [{ name: 'shop', scopes: ['operations'], rateLimitPerMinute: 2_147_483_648 }, /from 1 to 2147483647/],
    [{ name: 'shop', scopes: ['operations'], rateLimitPerMinute: Number.NaN }, /whole number/],
  ])('refuses %j with a reason, storing nothing', async (input, reason) => {
    const { store, useCase } = create();
    await expect(useCase.execute(input)).rejects.toThrow(InvalidApiKeyError);
    await expect(useCase.execute(input)).rejects.toThrow(reason);
    expect(store.rows).toEqual([]);
  });
});
