// The ordering gate of the unit of work (docs/adr/0006-per-aggregate-ordering.md): a command
// whose predecessor has no outcome does not run and changes nothing; once the predecessor has
// one, it runs — also when both share one group transaction, in whatever order they arrived.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/application/clock.js';
import { CancelOrder } from '../../src/application/commerce/use-cases/cancel-order.js';
import { ConfirmOrder } from '../../src/application/commerce/use-cases/confirm-order.js';
import { PlaceOrder } from '../../src/application/commerce/use-cases/place-order.js';
import { ShipOrder } from '../../src/application/commerce/use-cases/ship-order.js';
import { MikroOrmUnitOfWork } from '../../src/infrastructure/persistence/mikro-orm-unit-of-work.js';
import { PredecessorPendingError, runAfter } from '../../src/infrastructure/ordering/predecessor.js';
import { addProductThrough, registerUserThrough } from '../support/commerce.js';
import { newId, ormOnFreshDatabase, type OrmFixture } from '../support/orm.js';

let db: OrmFixture;

beforeAll(async () => {
  db = await ormOnFreshDatabase(10);
});
afterAll(() => db.close());

async function shop(uow: MikroOrmUnitOfWork) {
  const userId = await registerUserThrough(uow, {});
  const productId = await addProductThrough(uow, 10, { amount: '1.00' });
  return {
    productId,
    place: (commandId: string, orderId: string) =>
      new PlaceOrder(uow, systemClock).execute({ commandId, orderId, userId, items: [{ productId, quantity: 1 }] }),
    confirm: (commandId: string, orderId: string) => new ConfirmOrder(uow, systemClock).execute({ commandId, orderId }),
    ship: (commandId: string, orderId: string) => new ShipOrder(uow, systemClock).execute({ commandId, orderId }),
    cancel: (commandId: string, orderId: string) =>
      new CancelOrder(uow, systemClock).execute({ commandId, orderId, reason: 'changed my mind' }),
  };
}

const outcome = async (commandId: string) =>
  (await db.sql<{ status: string }>('select status from processed_commands where command_id = ?', [commandId]))[0]?.status;
const orderStatus = async (orderId: string) =>
  (await db.sql<{ status: string }>('select status from orders where id = ?', [orderId]))[0]?.status;

describe.each([
  ['a transaction per command', 1],
  ['group commit', 32],
])('the ordering gate, with %s', (_name, maxBatch) => {
  it('holds a command back, changing nothing, until its predecessor has an outcome', async () => {
    const uow = new MikroOrmUnitOfWork(db.orm, undefined, { maxBatch });
    const { place, confirm } = await shop(uow);
    const orderId = newId();
    const [placeId, confirmId] = [newId(), newId()];

    // Confirm arrives first: its predecessor (Place) has no outcome, so it does not run.
    const early = runAfter(placeId, () => confirm(confirmId, orderId));
    await expect(early).rejects.toBeInstanceOf(PredecessorPendingError);
    await expect(early).rejects.toMatchObject({ predecessor: placeId });
    expect(await outcome(confirmId)).toBeUndefined();
    expect(await uow.pendingLink(placeId)).toBe(placeId);

    await place(placeId, orderId);
    expect(await uow.pendingLink(placeId)).toBeUndefined();
    await runAfter(placeId, () => confirm(confirmId, orderId));
    expect(await orderStatus(orderId)).toBe('confirmed');
    expect(await outcome(confirmId)).toBe('succeeded');
  });

  it('names, for a command cancelled in line, the first command before it still without an outcome', async () => {
    const uow = new MikroOrmUnitOfWork(db.orm, undefined, { maxBatch });
    const { place } = await shop(uow);
    const [placeId, firstCancelled, secondCancelled] = [newId(), newId(), newId()];
    // place ← firstCancelled ← secondCancelled: each cancelled while it waited for the one before.
    const cancelled = (commandId: string, after: string) =>
      db.sql(
        `insert into processed_commands (command_id, command_type, status, result, error, processed_at)
         values (?, 'ConfirmOrder', 'cancelled', ?::jsonb, '{"code":"cancelled","message":"cancelled"}'::jsonb, now())`,
        [commandId, JSON.stringify({ after })],
      );
    await cancelled(firstCancelled, placeId);
    await cancelled(secondCancelled, firstCancelled);
    expect(await uow.pendingLink(secondCancelled)).toBe(placeId);
    await place(placeId, newId());
    expect(await uow.pendingLink(secondCancelled)).toBeUndefined();
  });

  it('lets a command go once its predecessor failed for good, and it gets its own outcome', async () => {
    const uow = new MikroOrmUnitOfWork(db.orm, undefined, { maxBatch });
    const { place, cancel, confirm, ship } = await shop(uow);
    const orderId = newId();
    const [placeId, cancelId, confirmId, shipId] = [newId(), newId(), newId(), newId()];
    await place(placeId, orderId);
    await runAfter(placeId, () => cancel(cancelId, orderId));
    await expect(runAfter(cancelId, () => confirm(confirmId, orderId))).rejects.toMatchObject({ code: 'invalid_transition' });
    await expect(runAfter(confirmId, () => ship(shipId, orderId))).rejects.toMatchObject({ code: 'invalid_transition' });
    expect(await outcome(shipId)).toBe('failed');
  });

  it('a redelivered command replays its outcome whatever its predecessor', async () => {
    const uow = new MikroOrmUnitOfWork(db.orm, undefined, { maxBatch });
    const { place } = await shop(uow);
    const [placeId, orderId] = [newId(), newId()];
    const first = await place(placeId, orderId);
    expect(await runAfter(newId(), () => place(placeId, orderId))).toEqual(first);
  });
});

describe('the ordering gate and the early start of a group\'s first command', () => {
  it('does not lock anything for a command that waits for its predecessor: it is refused at once while another transaction holds its order', async () => {
    const uow = new MikroOrmUnitOfWork(db.orm, undefined, { maxBatch: 32 });
    const { place } = await shop(uow);
    const orderId = newId();
    await place(newId(), orderId);
    // Another transaction (the predecessor's, say) holds the order row.
    const holder = await db.pool.connect();
    try {
      await holder.query('begin');
      await holder.query('select 1 from orders where id = $1 for update', [orderId]);
      const shipId = newId();
      const started = performance.now();
      await expect(runAfter(newId(), () => new ShipOrder(uow, systemClock).execute({ commandId: shipId, orderId }))).rejects.toBeInstanceOf(
        PredecessorPendingError,
      );
      // Refused by the outcome read alone: it never queued for the order's lock.
      expect(performance.now() - started).toBeLessThan(1000);
      expect(await outcome(shipId)).toBeUndefined();
    } finally {
      await holder.query('rollback');
      holder.release();
    }
  });
});

describe('the ordering gate in one group transaction', () => {
  it('runs a chain that arrived backwards in the order of its links, all in one group', async () => {
    const batches: number[] = [];
    const uow = new MikroOrmUnitOfWork(db.orm, undefined, { maxBatch: 32, maxConcurrentBatches: 1, onBatch: (size) => batches.push(size) });
    const { place, confirm, ship } = await shop(uow);
    batches.length = 0;
    const orderId = newId();
    const [placeId, confirmId, shipId] = [newId(), newId(), newId()];
    // Something else holds the one transaction slot, so the three queue up behind it and form
    // one group — in the order Ship, Confirm, Place.
    const blocker = place(newId(), newId());
    const results = await Promise.all([
      runAfter(confirmId, () => ship(shipId, orderId)),
      runAfter(placeId, () => confirm(confirmId, orderId)),
      place(placeId, orderId),
      blocker,
    ]);
    expect(results.slice(0, 2)).toEqual([
      { orderId, status: 'shipped' },
      { orderId, status: 'confirmed' },
    ]);
    expect(batches).toEqual([1, 3]);
    expect(await orderStatus(orderId)).toBe('shipped');
  });
});
