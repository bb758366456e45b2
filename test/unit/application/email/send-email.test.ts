import { describe, expect, it } from 'vitest';
import type { SendResult } from '../../../../src/application/email/ports.js';
import { SendEmail } from '../../../../src/application/email/send-email.js';
import { InMemoryEmailStore, RecordingMailer, emailId } from './fakes.js';

function setup(answer?: SendResult, brand?: string) {
  const store = new InMemoryEmailStore();
  const mailer = new RecordingMailer(answer);
  return { store, mailer, sendEmail: new SendEmail(store, mailer, { brand }) };
}

const claimed = { eventId: 'event-1', template: 'welcome' };

describe('SendEmail', () => {
  it('sends a pending email with its Message-ID and records it as sent', async () => {
    const { store, mailer, sendEmail } = setup();
    const row = store.add();
    await expect(sendEmail.execute({ emailId, retryInMs: 2000 })).resolves.toEqual({
      outcome: 'sent',
      response: '250 2.0.0 Ok: queued',
      ...claimed,
    });
    expect(mailer.sent).toEqual([
      expect.objectContaining({ emailId, messageId: row.messageId, to: 'ann@example.com', subject: 'Welcome to conveyor, Ann' }),
    ]);
    expect(row).toMatchObject({ status: 'sent', attempts: 1, lastResponse: '250 2.0.0 Ok: queued', subject: 'Welcome to conveyor, Ann' });
  });

  it('greets the recipient by name and signs with the brand', async () => {
    const { store, mailer, sendEmail } = setup(undefined, 'Acme');
    store.add({
      template: 'shipping_notice',
      recipientName: 'Bob',
      event: {
        type: 'order.shipped',
        payload: {
          orderId: '01936a5e-7c1d-7000-8000-00000000beef',
          userId: 'u1',
          items: [{ productId: 'p1', sku: 'W-1', name: 'Widget', quantity: 1, unitPrice: { amount: '2.50', currency: 'EUR' } }],
          total: { amount: '2.50', currency: 'EUR' },
        },
      },
    });
    await sendEmail.execute({ emailId, retryInMs: 2000 });
    expect(mailer.sent[0]?.text).toMatch(/^Hello Bob,/);
    expect(mailer.sent[0]?.text).toContain('The Acme team');
  });

  it.each(['sent', 'failed'] as const)('does nothing for a row already %s (a duplicate job)', async (status) => {
    const { store, mailer, sendEmail } = setup();
    const row = store.add({ status, attempts: 1 });
    await expect(sendEmail.execute({ emailId, retryInMs: 2000 })).resolves.toEqual({ outcome: 'skipped', reason: status });
    expect(mailer.sent).toHaveLength(0);
    expect(row).toMatchObject({ status, attempts: 1 });
  });

  it('does nothing for a missing row or one another job is sending', async () => {
    const { store, mailer, sendEmail } = setup();
    await expect(sendEmail.execute({ emailId, retryInMs: 2000 })).resolves.toEqual({ outcome: 'skipped', reason: 'missing' });
    store.add();
    store.locked = true;
    await expect(sendEmail.execute({ emailId, retryInMs: 2000 })).resolves.toEqual({ outcome: 'skipped', reason: 'locked' });
    expect(mailer.sent).toHaveLength(0);
  });

  it.each<[string, SendResult, number | null, object, object]>([
    [
      'keeps a temporarily failed email pending, due again within the delay it is given',
      { status: 'temporary', response: '451 4.7.1 Greylisted' },
      8000,
      { outcome: 'retry', response: '451 4.7.1 Greylisted', retryInMs: 8000 },
      { status: 'pending', attempts: 1, lastResponse: '451 4.7.1 Greylisted', retryInMs: 8000, subject: 'Welcome to conveyor, Ann' },
    ],
    [
      'fails an email that fails temporarily when no attempt is left',
      { status: 'temporary', response: 'ECONNECTION: Connection closed unexpectedly' },
      null,
      { outcome: 'failed', response: 'ECONNECTION: Connection closed unexpectedly' },
      { status: 'failed', attempts: 1, lastResponse: 'ECONNECTION: Connection closed unexpectedly', retryInMs: null, subject: 'Welcome to conveyor, Ann' },
    ],
    [
      'fails a rejected email at once, whatever attempts are left',
      { status: 'rejected', response: '550 5.1.1 No such user' },
      8000,
      { outcome: 'rejected', response: '550 5.1.1 No such user' },
      { status: 'failed', attempts: 1, lastResponse: '550 5.1.1 No such user', retryInMs: null, subject: 'Welcome to conveyor, Ann' },
    ],
  ])('%s', async (_, answer, retryInMs, output, row) => {
    const { store, sendEmail } = setup(answer);
    const email = store.add();
    await expect(sendEmail.execute({ emailId, retryInMs })).resolves.toEqual({ ...output, ...claimed });
    expect(email).toMatchObject(row);
  });

  it('fails an email whose event cannot be rendered, without sending or counting an attempt', async () => {
    const { store, mailer, sendEmail } = setup();
    const row = store.add({ template: 'order_confirmation', event: { type: 'order.placed', payload: { orderId: 'x' } } });
    const result = await sendEmail.execute({ emailId, retryInMs: 2000 });
    expect(result).toMatchObject({ outcome: 'unrenderable', reason: expect.stringMatching(/^render_failed: order_confirmation: /) });
    expect(mailer.sent).toHaveLength(0);
    expect(row).toMatchObject({
      status: 'failed',
      attempts: 0,
      lastResponse: expect.stringMatching(/^render_failed: order_confirmation: /),
      subject: null,
    });
  });

  it.each([
    ['its outbox event is gone', { event: null }, /render_failed: .*outbox event event-1 not found/],
    ['its template is unknown', { template: 'invoice' }, /render_failed: invoice: unknown template/],
  ])('fails an email whose %s', async (_, overrides, reason) => {
    const { store, mailer, sendEmail } = setup();
    const row = store.add(overrides);
    await expect(sendEmail.execute({ emailId, retryInMs: 2000 })).resolves.toMatchObject({ outcome: 'unrenderable', reason });
    expect(mailer.sent).toHaveLength(0);
    expect(row.status).toBe('failed');
  });
});
