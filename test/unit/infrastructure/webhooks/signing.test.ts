import { createHmac } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { generateWebhookSecret, signatureHeader, signWebhook, webhookHeaders } from '../../../../src/infrastructure/webhooks/signing.js';
import { buildWebhookBody } from '../../../../src/infrastructure/webhooks/payload.js';

describe('Standard Webhooks signing', () => {
  it('generates whsec_ secrets of 32 random bytes', () => {
    const secret = generateWebhookSecret();
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/);
    expect(Buffer.from(secret.slice('whsec_'.length), 'base64')).toHaveLength(32);
    expect(generateWebhookSecret()).not.toBe(secret);
  });

  it('produces headers the official standardwebhooks library verifies', () => {
    const secret = generateWebhookSecret();
    const body = buildWebhookBody({
      id: '0192f3c4-0000-7000-8000-000000000001',
      type: 'order.placed',
      occurredAt: new Date('2026-01-02T03:04:05.678Z'),
      payload: { orderId: 'o-1', total: { amount: '12.50', currency: 'EUR' } },
    });
    const headers = webhookHeaders([secret], { id: 'delivery-1', timestamp: new Date(), body });
    expect(new Webhook(secret).verify(body, headers)).toEqual({
      type: 'order.placed',
      timestamp: '2026-01-02T03:04:05.678Z',
      data: { orderId: 'o-1', total: { amount: '12.50', currency: 'EUR' }, eventId: '0192f3c4-0000-7000-8000-000000000001' },
    });
    // A changed byte of the body no longer verifies.
    expect(() => new Webhook(secret).verify(body.replace('12.50', '12.51'), headers)).toThrow();
    // Another secret does not verify either.
    expect(() => new Webhook(generateWebhookSecret()).verify(body, headers)).toThrow();
  });

  it('matches the library signature and a hand computation byte for byte', () => {
    const secret = generateWebhookSecret();
    const timestamp = new Date(1_700_000_000_999);
    const body = '{"type":"user.registered"}';
    const expected = createHmac('sha256', Buffer.from(secret.slice(6), 'base64'))
      .update(`msg_1.1700000000.${body}`)
      .digest('base64');
    expect(signWebhook(secret, { id: 'msg_1', timestamp, body })).toBe(`v1,${expected}`);
    expect(signWebhook(secret, { id: 'msg_1', timestamp, body })).toBe(new Webhook(secret).sign('msg_1', timestamp, body));
    expect(webhookHeaders([secret], { id: 'msg_1', timestamp, body })['webhook-timestamp']).toBe('1700000000');
  });

  it('signs with two secrets as two space-separated v1 entries, each verifying with its own secret', () => {
    const [fresh, old, stranger] = [generateWebhookSecret(), generateWebhookSecret(), generateWebhookSecret()];
    const content = { id: 'delivery-2', timestamp: new Date(), body: '{"type":"order.shipped"}' };
    const headers = webhookHeaders([fresh, old], content);

    expect(headers['webhook-signature']).toBe(`${signWebhook(fresh, content)} ${signWebhook(old, content)}`);
    expect(headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]+=* v1,[A-Za-z0-9+/]+=*$/);
    // A receiver that knows only one of the two secrets verifies the message.
    expect(new Webhook(fresh).verify(content.body, headers)).toEqual({ type: 'order.shipped' });
    expect(new Webhook(old).verify(content.body, headers)).toEqual({ type: 'order.shipped' });
    expect(() => new Webhook(stranger).verify(content.body, headers)).toThrow();
    // With one secret, one entry.
    expect(signatureHeader([fresh], content)).toBe(signWebhook(fresh, content));
    expect(() => signatureHeader([], content)).toThrow(/at least one secret/);
  });

  it('reproduces the test vector published with the specification', () => {
    // standard-webhooks/standard-webhooks, spec/standard-webhooks.md and the reference libraries' tests.
    const signature = signWebhook('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', {
      id: 'msg_p5jXN8AQM9LWM0D4loKWxJek',
      timestamp: new Date(1614265330 * 1000),
      body: '{"test": 2432232314}',
    });
    expect(signature).toBe('v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=');
  });
});

describe('buildWebhookBody', () => {
  it('is {type, timestamp, data} with the event id in data', () => {
    const body = buildWebhookBody({
      id: 'e-1',
      type: 'user.registered',
      occurredAt: new Date('2026-05-06T07:08:09.000Z'),
      payload: { userId: 'u-1', email: 'a@example.com' },
    });
    expect(body).toBe(
      '{"type":"user.registered","timestamp":"2026-05-06T07:08:09.000Z","data":{"userId":"u-1","email":"a@example.com","eventId":"e-1"}}',
    );
  });
});
