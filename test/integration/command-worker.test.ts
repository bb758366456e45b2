import type { Job, QueueEvents } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Infrastructure } from '../../src/main/infrastructure.js';
import { startCommandWorker } from '../../src/main/roles/command-worker.js';
import type { RunningWorker } from '../../src/main/roles/queue-worker.js';
import type { CommandPayload, CommandType } from '../../queues/commands.js';
import { infrastructureOnFreshDatabase, queueEventsOf, settledJob } from '../support/infrastructure.js';
import { newId } from '../support/orm.js';

let infra: Infrastructure;
let worker: RunningWorker;
let events: QueueEvents;

beforeAll(async () => {
  infra = await infrastructureOnFreshDatabase();
  worker = startCommandWorker(infra);
  events = await queueEventsOf(infra, 'commands');
});

afterAll(async () => {
  await worker.stop(5000);
  await events.close();
  await infra.close();
});

const sql = <T = Record<string, unknown>>(query: string, params: unknown[] = []) =>
  infra.orm.em.fork().getConnection().execute<T[]>(query, params);

async function send<T extends CommandType>(type: T, payload: CommandPayload<T>, jobId = payload.commandId): Promise<Job> {
  return infra.queues.commands.add(type, payload, { jobId });
}

/** Waits for the job to settle; returns its final state. */
const settle = (job: Job) => settledJob(infra.queues.commands, events, job, 15_000);

async function seed(stock: number) {
  const userId = newId();
  const productId = newId();
  await settle(await send('RegisterUser', { commandId: newId(), userId, email: `${userId}@example.com`, name: 'Ann' }));
  await settle(
    await send('AddProduct', {
      commandId: newId(),
      productId,
      sku: `W-${productId.slice(-12)}`,
      name: 'Widget',
      price: { amount: '2.50', currency: 'EUR' },
      stock,
    }),
  );
  return { userId, productId };
}

describe('command worker', () => {
  it('runs queued commands through the use cases and records their outcome', async () => {
    const { userId, productId } = await seed(10);
    const orderId = newId();
    const commandId = newId();
    const { state, job } = await settle(
      await send('PlaceOrder', { commandId, orderId, userId, items: [{ productId, quantity: 4 }] }),
    );
    expect(state).toBe('completed');
    expect(job.returnvalue).toEqual({ orderId, total: { amount: '10.00', currency: 'EUR' } });
    const [order] = await sql('select status, total_minor from orders where id = ?', [orderId]);
    expect(order).toEqual({ status: 'pending', total_minor: '1000' });
    const [processed] = await sql('select status from processed_commands where command_id = ?', [commandId]);
    expect(processed).toEqual({ status: 'succeeded' });
  });

  it('fails a domain error permanently after exactly one attempt, with its code', async () => {
    const { userId, productId } = await seed(1);
    const commandId = newId();
    const { state, job } = await settle(
      await send('PlaceOrder', { commandId, orderId: newId(), userId, items: [{ productId, quantity: 2 }] }),
    );
    expect(state).toBe('failed');
    expect(job.attemptsMade).toBe(1);
    expect(job.failedReason).toMatch(/^insufficient_stock: /);
    const [processed] = await sql('select status, error from processed_commands where command_id = ?', [commandId]);
    expect(processed).toMatchObject({ status: 'failed', error: { code: 'insufficient_stock' } });
  });

  it('has one effect when the same command is delivered again under a new job id', async () => {
    const { userId, productId } = await seed(10);
    const orderId = newId();
    const payload = { commandId: newId(), orderId, userId, items: [{ productId, quantity: 3 }] };
    const first = await settle(await send('PlaceOrder', payload));
    const second = await settle(await send('PlaceOrder', payload, `redelivery-${payload.commandId}`));
    expect(first.state).toBe('completed');
    expect(second.state).toBe('completed');
    expect(second.job.returnvalue).toEqual(first.job.returnvalue);
    const [product] = await sql<{ stock: number }>('select stock from products where id = ?', [productId]);
    expect(product?.stock).toBe(7);
    expect(await sql('select 1 from orders where id = ?', [orderId])).toHaveLength(1);
    expect(await sql("select 1 from outbox_messages where aggregate_id = ? and type = 'order.placed'", [orderId])).toHaveLength(1);
  });

  it('rejects a payload that does not match its schema without retrying', async () => {
    const job = await infra.queues.commands.add('PlaceOrder', { commandId: newId(), items: 'nope' }, { jobId: newId() });
    const { state, job: settled } = await settle(job);
    expect(state).toBe('failed');
    expect(settled.attemptsMade).toBe(1);
    expect(settled.failedReason).toMatch(/^invalid_payload: /);
  });
});
