// The relay's PostgreSQL pool has room for its first attempts (ADR 0024): an email attempt holds
// a connection while it sends, so WORKER_CONCURRENCY of them must not take the connections its
// claim, its sweepers and retention need.
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/infrastructure/config.js';
import { openPool, Resources } from '../../../src/main/infrastructure.js';

const resources = new Resources();
afterEach(() => resources.close());

const maxOf = (env: Record<string, string>, options: { relay?: boolean }) =>
  openPool(loadConfig({ WORKER_CONCURRENCY: '16', ...env }), pino({ level: 'silent' }), resources, { role: 'relay', ...options }).options.max;

describe("the relay's pool", () => {
  it('is WORKER_CONCURRENCY + 2 without first attempts, as every other process', () => {
    expect(maxOf({}, { relay: true })).toBe(18);
    expect(maxOf({ RELAY_FIRST_ATTEMPT: 'true' }, {})).toBe(18);
  });

  it('holds WORKER_CONCURRENCY more with them', () => {
    expect(maxOf({ RELAY_FIRST_ATTEMPT: 'true' }, { relay: true })).toBe(34);
  });
});
