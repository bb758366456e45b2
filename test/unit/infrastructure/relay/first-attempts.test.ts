import type { Queue } from 'bullmq';
import type pg from 'pg';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { SendEmailOutput } from '../../../../src/application/email/send-email.js';
import type { DeliverWebhookInput, DeliverWebhookOutput } from '../../../../src/application/webhooks/deliver-webhook.js';
import type { DeliveryToSend } from '../../../../src/application/webhooks/ports.js';
import { FirstAttempts, type ClaimAtInsert, type FirstAttemptsOptions } from '../../../../src/infrastructure/relay/first-attempts.js';
import type { SendingRow } from '../../../../src/infrastructure/webhooks/postgres-webhook-repository.js';
import type { Logger } from '../../../../src/infrastructure/logger.js';
import { OutboxRelay } from '../../../../src/infrastructure/relay/outbox-relay.js';
import { emailJobOptions } from '../../../../queues/emails.js';
import { webhookJobOptions } from '../../../../queues/webhooks.js';

// What follows the relay's first attempt of a row, by its outcome (the use cases faked): the
// job added for a retry or a wait, or none. The real wiring is test/integration/relay-first-attempt.test.ts.

const EMAIL = '0190a0b0-0000-7000-8000-000000000001';
const DELIVERY = '0190a0b0-0000-7000-8000-000000000002';

interface Added {
  queue: string;
  data: unknown;
  jobId: string | undefined;
  delay: number | undefined;
}

function fakeQueue(name: string, added: Added[]): Queue {
  return {
    add: async (_name: string, data: unknown, opts: { jobId?: string; delay?: number }) => {
      added.push({ queue: name, data, jobId: opts.jobId, delay: opts.delay });
      return {};
    },
  } as unknown as Queue;
}

/** What the webhook repository's toSend makes of a delivery claimed at insert (its endpoint left out). */
function toSend(row: SendingRow, attemptId: string): DeliveryToSend {
  return {
    delivery: { id: row.id, endpointId: row.endpoint_id, eventId: row.event_id, eventType: row.event_type, body: row.body, status: row.status, attempts: row.attempts },
    endpoint: null,
    attemptId,
  };
}

function attemptsWith(
  email: () => Promise<SendEmailOutput>,
  webhook: (input: DeliverWebhookInput) => Promise<DeliverWebhookOutput>,
  concurrency = 4,
  sending: FirstAttemptsOptions['toSend'] = toSend,
) {
  const added: Added[] = [];
  const counted: string[] = [];
  const attempts = new FirstAttempts({
    sendEmail: { execute: email },
    deliverWebhook: { execute: webhook },
    emails: fakeQueue('emails', added),
    webhooks: fakeQueue('webhooks', added),
    emailJobOptions,
    webhookJobOptions: webhookJobOptions([60, 300]),
    logger: pino({ level: 'silent' }),
    metrics: { countEmail: (outcome) => counted.push(`email:${outcome}`), countWebhook: (outcome) => counted.push(`webhook:${outcome}`) },
    concurrency,
    toSend: sending,
  });
  return { attempts, added, counted };
}

const claimed = { eventId: 'e', template: 'welcome' as const, to: 'ann@example.com' };
const sent = { eventId: 'e', endpointId: 'p', response: { statusCode: 500, durationMs: 3, error: null } };

describe('FirstAttempts', () => {
  it('adds no job after a sent email and a delivered webhook, and counts both outcomes', async () => {
    const { attempts, added, counted } = attemptsWith(
      async () => ({ outcome: 'sent', response: '250 ok', ...claimed }),
      async () => ({ outcome: 'delivered', ...sent, response: { ...sent.response, statusCode: 204 } }),
    );
    expect(attempts.startSome([{ id: EMAIL, kind: 'email' }, { id: DELIVERY, kind: 'webhook' }])).toEqual([]);
    await attempts.idle();
    expect(added).toEqual([]);
    expect(counted.sort()).toEqual(['email:sent', 'webhook:delivered']);
  });

  it('queues a retry: the email delayed by its retry, the webhook carrying the attempt made', async () => {
    const { attempts, added } = attemptsWith(
      async () => ({ outcome: 'retry', response: '451 greylisted', retryInMs: 2000, ...claimed }),
      async () => ({ outcome: 'retry', ...sent, delayMs: 61_000, nextAttemptAt: new Date() }),
    );
    attempts.startSome([{ id: EMAIL, kind: 'email' }, { id: DELIVERY, kind: 'webhook' }]);
    await attempts.idle();
    expect(added).toContainEqual({ queue: 'emails', data: { emailId: EMAIL }, jobId: EMAIL, delay: 2000 });
    expect(added).toContainEqual({ queue: 'webhooks', data: { deliveryId: DELIVERY, attemptsBefore: 1 }, jobId: DELIVERY, delay: 61_000 });
    expect(added).toHaveLength(2);
  });

  it('queues a throttled delivery until its slot, marked as having waited, with no attempt counted', async () => {
    const { attempts, added } = attemptsWith(
      async () => ({ outcome: 'skipped', reason: 'sent' }),
      async () => ({ outcome: 'throttled', eventId: 'e', endpointId: 'p', delayMs: 750, nextAttemptAt: new Date() }),
    );
    attempts.startSome([{ id: DELIVERY, kind: 'webhook' }]);
    await attempts.idle();
    expect(added).toEqual([{ queue: 'webhooks', data: { deliveryId: DELIVERY, waitedForRate: true }, jobId: DELIVERY, delay: 750 }]);
  });

  it('queues the row at once when the attempt could not be made (the database down)', async () => {
    const down = async () => {
      throw new Error('connect ECONNREFUSED');
    };
    const { attempts, added } = attemptsWith(down, down);
    attempts.startSome([{ id: EMAIL, kind: 'email' }, { id: DELIVERY, kind: 'webhook' }]);
    await attempts.idle();
    expect(added).toContainEqual({ queue: 'emails', data: { emailId: EMAIL }, jobId: EMAIL, delay: 0 });
    expect(added).toContainEqual({ queue: 'webhooks', data: { deliveryId: DELIVERY }, jobId: DELIVERY, delay: 0 });
  });

  it('adds no job after a final outcome: rejected, 410 Gone, the schedule exhausted', async () => {
    for (const webhook of ['gone', 'failed'] as const) {
      const { attempts, added } = attemptsWith(
        async () => ({ outcome: 'rejected', response: '550 no such user', ...claimed }),
        async () => ({ outcome: webhook, ...sent }),
      );
      attempts.startSome([{ id: EMAIL, kind: 'email' }, { id: DELIVERY, kind: 'webhook' }]);
      await attempts.idle();
      expect(added).toEqual([]);
    }
  });

  it('hands a delivery claimed at insert to the attempt as it was claimed, and claims any other by the attempt itself', async () => {
    const inputs: DeliverWebhookInput[] = [];
    const { attempts, added } = attemptsWith(
      async () => ({ outcome: 'skipped', reason: 'sent' }),
      async (input) => {
        inputs.push(input);
        return { outcome: 'delivered', ...sent, response: { ...sent.response, statusCode: 204 } };
      },
    );
    const claim: ClaimAtInsert = {
      attemptId: '0190a0b0-0000-7000-8000-0000000000aa',
      startedAt: new Date('2026-12-05T08:00:00.000Z'),
      row: { id: DELIVERY, endpoint_id: 'p', event_id: 'e', event_type: 'order.placed', status: 'pending', attempts: 0, body: '{"a":1}', claimed: true, endpoint: null },
    };
    const OTHER = '0190a0b0-0000-7000-8000-000000000003';
    attempts.startSome([{ id: DELIVERY, kind: 'webhook', claim }, { id: OTHER, kind: 'webhook' }]);
    await attempts.idle();
    expect(inputs).toEqual([
      { deliveryId: DELIVERY, attempt: 0, canRetry: true, claimed: toSend(claim.row, claim.attemptId) },
      { deliveryId: OTHER, attempt: 0, canRetry: true },
    ]);
    expect(added).toEqual([]);
  });

  it('queues a delivery claimed at insert at once when its claim cannot be read (a secret key error of our own)', async () => {
    let attempted = false;
    const { attempts, added } = attemptsWith(
      async () => ({ outcome: 'skipped', reason: 'sent' }),
      async () => {
        attempted = true;
        return { outcome: 'skipped', reason: 'not_pending' };
      },
      4,
      () => {
        throw new Error('no key "k1" in WEBHOOK_SECRET_KEYS');
      },
    );
    const row: SendingRow = { id: DELIVERY, endpoint_id: 'p', event_id: 'e', event_type: 'order.placed', status: 'pending', attempts: 0, body: '{}', claimed: true, endpoint: null };
    attempts.startSome([{ id: DELIVERY, kind: 'webhook', claim: { attemptId: 'a', startedAt: new Date(), row } }]);
    await attempts.idle();
    expect(attempted).toBe(false);
    expect(added).toEqual([{ queue: 'webhooks', data: { deliveryId: DELIVERY }, jobId: DELIVERY, delay: 0 }]);
  });

  it('says how many attempts it has room for', async () => {
    const release: (() => void)[] = [];
    const { attempts } = attemptsWith(
      async () => ({ outcome: 'skipped', reason: 'sent' }),
      () => new Promise((resolve) => release.push(() => resolve({ outcome: 'skipped', reason: 'not_pending' }))),
      3,
    );
    expect(attempts.room()).toBe(3);
    attempts.startSome([{ id: 'a', kind: 'webhook' }, { id: 'b', kind: 'webhook' }]);
    expect(attempts.room()).toBe(1);
    attempts.startSome([{ id: 'c', kind: 'webhook' }, { id: 'd', kind: 'webhook' }]);
    expect(attempts.room()).toBe(0);
    for (const done of release) done();
    await attempts.idle();
    expect(attempts.room()).toBe(3);
  });

  it('starts no more than its concurrency, returns the rest, and never starts a row twice', async () => {
    const release: (() => void)[] = [];
    const { attempts } = attemptsWith(
      async () => ({ outcome: 'skipped', reason: 'sent' }),
      () =>
        new Promise((resolve) => {
          release.push(() => resolve({ outcome: 'skipped', reason: 'not_pending' }));
        }),
      2,
    );
    const rows = ['a', 'b', 'c'].map((id) => ({ id, kind: 'webhook' as const }));
    expect(attempts.startSome(rows).map((row) => row.id)).toEqual(['c']);
    expect(attempts.attempting('a') && attempts.attempting('b')).toBe(true);
    // A re-run of the batch lists the rows again: those in flight are neither started nor returned.
    expect(attempts.startSome(rows).map((row) => row.id)).toEqual(['c']);
    expect(release).toHaveLength(2);
    let idle = false;
    const waiting = attempts.idle().then(() => (idle = true));
    await new Promise((resolve) => setImmediate(resolve));
    expect(idle).toBe(false);
    for (const done of release) done();
    await waiting;
    expect(attempts.attempting('a') || attempts.attempting('b')).toBe(false);
  });
});

describe('OutboxRelay.stop with first attempts in flight', () => {
  it('waits for them up to attemptsGraceMs, then leaves them to the sweeper and says so', async () => {
    const warned: string[] = [];
    const logger = { warn: (_fields: unknown, message: string) => warned.push(message) } as unknown as Logger;
    const { attempts } = attemptsWith(
      async () => ({ outcome: 'sent', response: '250 ok', ...claimed }),
      () => new Promise<DeliverWebhookOutput>(() => undefined),
    );
    const relay = new OutboxRelay({
      pool: {} as pg.Pool,
      emails: fakeQueue('emails', []),
      webhooks: fakeQueue('webhooks', []),
      policies: { buildWebhookBody: () => '{}', emailJobOptions, webhookJobOptions: webhookJobOptions([60]) },
      logger,
      firstAttempts: attempts,
      attemptsGraceMs: 50,
    });
    attempts.startSome([{ id: DELIVERY, kind: 'webhook' }]);
    const started = performance.now();
    await relay.stop();
    expect(performance.now() - started).toBeGreaterThanOrEqual(45);
    expect(attempts.attempting(DELIVERY)).toBe(true);
    expect(warned).toEqual(['first attempts still running at shutdown: left to the sweeper']);
  });

  it('returns as soon as they are done', async () => {
    const { attempts } = attemptsWith(
      async () => ({ outcome: 'sent', response: '250 ok', ...claimed }),
      async () => ({ outcome: 'skipped', reason: 'not_pending' }),
    );
    const relay = new OutboxRelay({
      pool: {} as pg.Pool,
      emails: fakeQueue('emails', []),
      webhooks: fakeQueue('webhooks', []),
      policies: { buildWebhookBody: () => '{}', emailJobOptions, webhookJobOptions: webhookJobOptions([60]) },
      logger: pino({ level: 'silent' }),
      firstAttempts: attempts,
      attemptsGraceMs: 60_000,
    });
    attempts.startSome([{ id: EMAIL, kind: 'email' }, { id: DELIVERY, kind: 'webhook' }]);
    const started = performance.now();
    await relay.stop();
    expect(performance.now() - started).toBeLessThan(1000);
    expect(attempts.attempting(EMAIL) || attempts.attempting(DELIVERY)).toBe(false);
  });
});
