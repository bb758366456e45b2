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
    expect(row).toMatchObject({ status: 'sent', attempts: 1, lastResponse: '250 2.0.0 Ok: queued' });
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

  it('keeps a temporarily failed email pending, due again within the delay it is given', async () => {
    const { store, sendEmail } = setup({ status: 'temporary', response: '451 4.7.1 Greylisted' });
    const row = store.add();
    await expect(sendEmail.execute({ emailId, retryInMs: 8000 })).resolves.toEqual({
      outcome: 'retry',
      response: '451 4.7.1 Greylisted',
      retryInMs: 8000,
      ...claimed,
    });
    expect(row).toMatchObject({ status: 'pending', attempts: 1, lastResponse: '451 4.7.1 Greylisted', retryInMs: 8000 });
  });

  it('fails an email that fails temporarily when no attempt is left', async () => {
    const { store, sendEmail } = setup({ status: 'temporary', response: 'ECONNECTION: Connection closed unexpectedly' });
    const row = store.add({ attempts: 7 });
    await expect(sendEmail.execute({ emailId, retryInMs: null })).resolves.toMatchObject({ outcome: 'failed' });
    expect(row).toMatchObject({ status: 'failed', attempts: 8, lastResponse: 'ECONNECTION: Connection closed unexpectedly' });
  });

  it('fails a rejected email at once, whatever attempts are left', async () => {
    const { store, sendEmail } = setup({ status: 'rejected', response: '550 5.1.1 No such user' });
    const row = store.add();
    await expect(sendEmail.execute({ emailId, retryInMs: 2000 })).resolves.toEqual({
      outcome: 'rejected',
      response: '550 5.1.1 No such user',
      ...claimed,
    });
    expect(row).toMatchObject({ status: 'failed', attempts: 1, lastResponse: '550 5.1.1 No such user' });
  });

  it('fails an email whose event cannot be rendered, without sending or counting an attempt', async () => {
    const { store, mailer, sendEmail } = setup();
    const row = store.add({ template: 'order_confirmation', event: { type: 'order.placed', payload: { orderId: 'x' } } });
    const result = await sendEmail.execute({ emailId, retryInMs: 2000 });
    expect(result).toMatchObject({ outcome: 'unrenderable', reason: expect.stringMatching(/^render_failed: order_confirmation: /) });
    expect(mailer.sent).toHaveLength(0);
    expect(row).toMatchObject({ status: 'failed', attempts: 0, lastResponse: expect.stringMatching(/^render_failed: order_confirmation: /) });
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
