import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Infrastructure } from '../../src/main/infrastructure.js';
import { startCommandWorker } from '../../src/main/roles/command-worker.js';
import { startMailer } from '../../src/main/roles/mailer.js';
import type { RunningWorker } from '../../src/main/roles/queue-worker.js';
import { startRelay, type RunningRelay } from '../../src/main/roles/relay.js';
import { buildWeb, type RunningWeb } from '../../src/main/roles/web.js';
import { infrastructureOnFreshDatabase, stopRoles } from '../support/infrastructure.js';
import { newId } from '../support/orm.js';
import { startSmtpCapture, type SmtpCapture } from '../support/receivers.js';
import { waitFor } from '../support/wait.js';

// An email resent through the API reaches a real SMTP server a second time with the same
// Message-ID. Every role runs in this process on the real wiring (as `npm start` does): the
// intake, the command worker, the relay and the mailer, over PostgreSQL, Redis and SMTP.

let smtp: SmtpCapture;
let infra: Infrastructure;
let web: RunningWeb;
let workers: RunningWorker[];
let relay: RunningRelay;

beforeAll(async () => {
  smtp = await startSmtpCapture();
  infra = await infrastructureOnFreshDatabase({ SMTP_URL: smtp.url }, 'all');
  web = await buildWeb(infra);
  workers = [startCommandWorker(infra), startMailer(infra)];
  relay = await startRelay(infra, { pollIntervalMs: 200 });
});

afterAll(async () => {
  await stopRoles(infra, { web, workers, relay });
  await smtp.close();
});

const headers = () => ({ authorization: `Bearer ${infra.config.apiKeys[0] ?? ''}` });

async function listTo(address: string) {
  const response = await web.app.inject({ method: 'GET', url: `/v1/emails?to=${encodeURIComponent(address)}`, headers: headers() });
  expect(response.statusCode).toBe(200);
  return response.json<{ items: { id: string; messageId: string; status: string; attempts: number; subject: string }[] }>().items;
}

describe('POST /v1/emails/:id/resend', () => {
  it('sends a sent email again with the same Message-ID', async () => {
    const address = `ann-${newId().slice(-12)}@example.com`;
    const registered = await web.app.inject({
      method: 'POST',
      url: '/v1/users',
      headers: headers(),
      payload: { email: address, name: 'Ann Example' },
    });
    expect(registered.statusCode).toBe(202);
    await waitFor(async () => smtp.to(address).length === 1, 20_000, 'the welcome email');

    const [email] = await waitFor(async () => {
      const items = await listTo(address);
      return items[0]?.status === 'sent' ? items : undefined;
    });
    expect(email).toMatchObject({ status: 'sent', attempts: 1, subject: 'Welcome to conveyor, Ann Example' });
    const first = smtp.to(address)[0]!;
    expect(first.headers.get('message-id')).toBe(email!.messageId);

    const resent = await web.app.inject({ method: 'POST', url: `/v1/emails/${email!.id}/resend`, headers: headers() });
    expect(resent.statusCode).toBe(202);
    await waitFor(async () => smtp.to(address).length === 2, 20_000, 'the resent email');
    const second = smtp.to(address)[1]!;
    expect(second.headers.get('message-id')).toBe(email!.messageId);
    expect(second.headers.get('subject')).toBe(first.headers.get('subject'));

    const [after] = await waitFor(async () => {
      const items = await listTo(address);
      return items[0]?.status === 'sent' && items[0].attempts === 2 ? items : undefined;
    });
    expect(after).toMatchObject({ id: email!.id, messageId: email!.messageId });
    // Nothing more arrives: one resend, one message.
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(smtp.to(address)).toHaveLength(2);
  });
});
