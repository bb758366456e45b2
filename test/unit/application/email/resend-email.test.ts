import { describe, expect, it } from 'vitest';
import type { EmailQueue } from '../../../../src/application/email/ports.js';
import { ResendEmail } from '../../../../src/application/email/resend-email.js';
import { InMemoryEmailStore, emailId } from './fakes.js';

class RecordingQueue implements EmailQueue {
  readonly enqueued: string[] = [];
  async enqueue(id: string): Promise<void> {
    this.enqueued.push(id);
  }
}

function setup() {
  const store = new InMemoryEmailStore();
  const queue = new RecordingQueue();
  return { store, queue, resend: new ResendEmail(store, queue) };
}

describe('ResendEmail', () => {
  it.each(['sent', 'failed'] as const)('makes a %s email pending again and queues it, keeping its Message-ID and attempts', async (status) => {
    const { store, queue, resend } = setup();
    const row = store.add({ status, attempts: 2, lastResponse: '250 2.0.0 Ok' });
    await resend.execute(emailId);
    expect(row).toMatchObject({ status: 'pending', attempts: 2, messageId: `<${emailId}@conveyor.local>` });
    expect(queue.enqueued).toEqual([emailId]);
  });

  it('refuses an unknown email with email_not_found, queueing nothing', async () => {
    const { queue, resend } = setup();
    await expect(resend.execute(emailId)).rejects.toMatchObject({ code: 'email_not_found' });
    expect(queue.enqueued).toEqual([]);
  });

  it('refuses an email still pending with email_pending, queueing nothing', async () => {
    const { store, queue, resend } = setup();
    store.add({ status: 'pending', attempts: 1 });
    await expect(resend.execute(emailId)).rejects.toMatchObject({ code: 'email_pending' });
    expect(queue.enqueued).toEqual([]);
  });
});
