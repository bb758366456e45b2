import { afterEach, describe, expect, test, vi } from 'vitest';
import { ApiKeyDirectory, type ActiveKeySource } from '../../../../src/infrastructure/access/api-key-directory.js';
import { hashApiKey } from '../../../../src/application/access/api-keys.js';
import { issueApiKey } from '../../../../src/infrastructure/access/api-key-secrets.js';
import type { ActiveKey } from '../../../../src/infrastructure/access/pg-api-keys.js';

class FakeSource implements ActiveKeySource {
  keys: ActiveKey[] = [];
  failing = false;
  touched: string[][] = [];
  async active(): Promise<ActiveKey[]> {
    if (this.failing) throw new Error('database is down');
    return this.keys.map((key) => ({ ...key }));
  }
  async touch(ids: string[]): Promise<void> {
    this.touched.push(ids);
  }
}

const shop: ActiveKey = { id: 'k1', name: 'shop', hash: hashApiKey('key-1'), scopes: ['commands:write'], rateLimitPerMinute: 60 };

afterEach(() => {
  vi.useRealTimers();
});

describe('ApiKeyDirectory', () => {
  test('finds an active key by its hash, with its name, scopes and rate limit', async () => {
    const source = new FakeSource();
    source.keys = [shop];
    const directory = new ApiKeyDirectory(source);
    await directory.start();
    expect(directory.lookup(hashApiKey('key-1'))).toEqual({
      keyId: 'k1',
      name: 'shop',
      scopes: new Set(['commands:write']),
      rateLimitPerMinute: 60,
    });
    expect(directory.lookup(hashApiKey('key-2'))).toBeUndefined();
    await directory.stop();
  });

  test('a revoked key is gone after the next refresh; a new one works from then; last use is recorded per refresh', async () => {
    vi.useFakeTimers();
    const source = new FakeSource();
    source.keys = [shop];
    const directory = new ApiKeyDirectory(source, { refreshMs: 1000 });
    await directory.start();
    directory.lookup(shop.hash);
    directory.lookup(shop.hash);
    source.keys = [{ ...shop, id: 'k2', name: 'new', hash: hashApiKey('key-2') }];
    expect(directory.lookup(shop.hash)).toBeDefined();
    await vi.advanceTimersByTimeAsync(1000);
    expect(directory.lookup(shop.hash)).toBeUndefined();
    expect(directory.lookup(hashApiKey('key-2'))?.name).toBe('new');
    expect(source.touched).toEqual([['k1']]);
    await directory.stop();
    expect(source.touched).toEqual([['k1'], ['k2']]);
  });

  test('while PostgreSQL cannot be read, the keys read last stay in force and the outage is reported once', async () => {
    vi.useFakeTimers();
    const source = new FakeSource();
    source.keys = [shop];
    const errors: unknown[] = [];
    const directory = new ApiKeyDirectory(source, { refreshMs: 1000, onError: (error) => errors.push(error) });
    await directory.start();
    source.failing = true;
    await vi.advanceTimersByTimeAsync(5000);
    expect(directory.lookup(shop.hash)?.name).toBe('shop');
    expect(errors).toHaveLength(1);
    source.failing = false;
    source.keys = [];
    await vi.advanceTimersByTimeAsync(1000);
    expect(directory.lookup(shop.hash)).toBeUndefined();
    await directory.stop();
  });

  test('start-up fails when the keys cannot be read at all', async () => {
    const source = new FakeSource();
    source.failing = true;
    await expect(new ApiKeyDirectory(source).start()).rejects.toThrow('database is down');
  });
});

describe('issueApiKey', () => {
  test('a key is its visible prefix and 256 random bits; only its SHA-256 is kept', () => {
    const first = issueApiKey();
    const second = issueApiKey();
    expect(first.key).toMatch(/^cvk_[0-9a-f]{8}_[A-Za-z0-9_-]{43}$/);
    expect(first.key.startsWith(`${first.prefix}_`)).toBe(true);
    expect(first.hash).toBe(hashApiKey(first.key));
    expect(first.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(second.key).not.toBe(first.key);
    expect(second.prefix).not.toBe(first.prefix);
  });
});
