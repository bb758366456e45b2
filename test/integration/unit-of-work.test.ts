import { describe, expect, it } from 'vitest';
import { AddProduct } from '../../src/application/commerce/use-cases/add-product.js';
import { CancelOrder } from '../../src/application/commerce/use-cases/cancel-order.js';
import { ConfirmOrder } from '../../src/application/commerce/use-cases/confirm-order.js';
import { PlaceOrder } from '../../src/application/commerce/use-cases/place-order.js';
import { RegisterUser } from '../../src/application/commerce/use-cases/register-user.js';
import { RestockProduct } from '../../src/application/commerce/use-cases/restock-product.js';
import { systemClock } from '../../src/application/clock.js';
import { runCommandJob } from '../../src/infrastructure/ordering/predecessor.js';
import { MikroOrmUnitOfWork } from '../../src/infrastructure/persistence/mikro-orm-unit-of-work.js';
import { addProductThrough, registerUserThrough } from '../support/commerce.js';
import { newId } from '../support/orm.js';
import { unitOfWorkOnFreshDatabase } from '../support/unit-of-work.js';

const store = unitOfWorkOnFreshDatabase();

const registerUser = (email?: string) => registerUserThrough(store.uow, { email });
const addProduct = (stock: number, amount?: string, currency?: string) => addProductThrough(store.uow, stock, { amount, currency });

describe('MikroOrmUnitOfWork', () => {
  it('persists the aggregate, one outbox row per event and the processed command in one commit', async () => {
    const commandId = newId();
    const userId = newId();
    const out = await new RegisterUser(store.uow, systemClock).execute({
      commandId,
      userId,
      email: ' Ann@Example.COM ',
      name: 'Ann',
    });
    expect(out).toEqual({ userId });
    const [user] = await store.sql('select email, name from users where id = ?', [userId]);
    expect(user).toEqual({ email: 'ann@example.com', name: 'Ann' });
    const outbox = await store.sql<{ type: string; aggregate_type: string; payload: unknown; published_at: unknown }>(
      'select type, aggregate_type, payload, published_at from outbox_messages where aggregate_id = ?',
      [userId],
    );
    expect(outbox).toEqual([
      {
        type: 'user.registered',
        aggregate_type: 'user',
        payload: { userId, email: 'ann@example.com', name: 'Ann' },
        published_at: null,
      },
    ]);
    const [processed] = await store.sql('select command_type, status, result from processed_commands where command_id = ?', [
      commandId,
    ]);
    expect(processed).toEqual({ command_type: 'RegisterUser', status: 'succeeded', result: { userId } });
  });

  it('runs the same command id once: the second run changes nothing and returns the first outcome', async () => {
    const productId = await addProduct(5);
    const commandId = newId();
    const restock = new RestockProduct(store.uow, systemClock);
    const first = await restock.execute({ commandId, productId, quantity: 3 });
    const second = await restock.execute({ commandId, productId, quantity: 3 });
    expect(first).toEqual({ productId, stock: 8 });
    expect(second).toEqual(first);
    const [row] = await store.sql<{ stock: number }>('select stock from products where id = ?', [productId]);
    expect(row?.stock).toBe(8);
    const events = await store.sql('select 1 from outbox_messages where aggregate_id = ? and type = ?', [
      productId,
      'product.restocked',
    ]);
    expect(events).toHaveLength(1);
  });

  it('replays a recorded success at the head of a group although running it again would fail, and the group goes on', async () => {
    const batches: number[] = [];
    const uow = new MikroOrmUnitOfWork(store.orm, undefined, { maxConcurrentBatches: 1, onBatch: (size, fellBack) => batches.push(fellBack ? -size : size) });
    const userId = await registerUserThrough(uow, {});
    const productId = await addProductThrough(uow, 5);
    const orderId = newId();
    await new PlaceOrder(uow, systemClock).execute({ commandId: newId(), orderId, userId, items: [{ productId, quantity: 1 }] });
    const confirm = new ConfirmOrder(uow, systemClock);
    const commandId = newId();
    const first = await confirm.execute({ commandId, orderId });
    expect(first).toEqual({ orderId, status: 'confirmed' });
    batches.length = 0;
    // A restock keeps the one transaction allowed busy; the redelivery and two more restocks
    // then form the next group, the redelivery first: its work starts with the group's outcome
    // read (and fails — the order is confirmed already), and it is dropped for its outcome.
    const restock = new RestockProduct(uow, systemClock);
    const blocker = restock.execute({ commandId: newId(), productId, quantity: 1 });
    await new Promise((resolve) => setImmediate(resolve));
    const [again, ...restocked] = await Promise.all([
      confirm.execute({ commandId, orderId }),
      restock.execute({ commandId: newId(), productId, quantity: 1 }),
      restock.execute({ commandId: newId(), productId, quantity: 1 }),
    ]);
    await blocker;
    expect(batches).toEqual([1, 3]);
    expect(again).toEqual(first);
    expect(restocked.map((result) => result.stock)).toEqual([6, 7]);
    const confirmed = await store.sql('select 1 from outbox_messages where aggregate_id = ? and type = ?', [orderId, 'order.confirmed']);
    expect(confirmed).toHaveLength(1);
  });

  it('applies concurrent deliveries of one command once', async () => {
    const productId = await addProduct(0);
    const commandId = newId();
    const restock = new RestockProduct(store.uow, systemClock);
    const results = await Promise.all(
      Array.from({ length: 10 }, () => restock.execute({ commandId, productId, quantity: 4 })),
    );
    for (const result of results) expect(result).toEqual({ productId, stock: 4 });
    const [row] = await store.sql<{ stock: number }>('select stock from products where id = ?', [productId]);
    expect(row?.stock).toBe(4);
  });

  it('rolls back a failed command, records the failure and replays it for the same command id', async () => {
    const userId = await registerUser();
    const productId = await addProduct(2);
    const otherId = await addProduct(10);
    const commandId = newId();
    const orderId = newId();
    const place = new PlaceOrder(store.uow, systemClock);
    const input = {
      commandId,
      orderId,
      userId,
      items: [
        { productId: otherId, quantity: 5 },
        { productId, quantity: 3 },
      ],
    };
    await expect(place.execute(input)).rejects.toMatchObject({ code: 'insufficient_stock' });
    // The first line's reservation was rolled back with the rest.
    const stocks = await store.sql<{ id: string; stock: number }>('select id, stock from products where id in (?, ?)', [
      productId,
      otherId,
    ]);
    expect(Object.fromEntries(stocks.map((s) => [s.id, s.stock]))).toEqual({ [productId]: 2, [otherId]: 10 });
    expect(await store.sql('select 1 from orders where id = ?', [orderId])).toHaveLength(0);
    const [processed] = await store.sql('select status, error from processed_commands where command_id = ?', [commandId]);
    expect(processed).toMatchObject({ status: 'failed', error: { code: 'insufficient_stock' } });

    // Even after a restock, the same command id fails the same way: its outcome is settled.
    await new RestockProduct(store.uow, systemClock).execute({ commandId: newId(), productId, quantity: 10 });
    await expect(place.execute(input)).rejects.toMatchObject({ code: 'insufficient_stock' });
    expect(await store.sql('select 1 from orders where id = ?', [orderId])).toHaveLength(0);
  });

  it("records the job's attempt and aggregate beside each outcome: a success, a failure in the group, one on its own", async () => {
    const productId = await addProduct(1);
    const userId = await registerUser('attempts@example.com');
    const [placed, refused, taken] = [newId(), newId(), newId()];
    const orderId = newId();
    const asJob = <T>(attempt: number, aggregate: string, work: () => Promise<T>) => runCommandJob({ attempt, aggregate }, work);
    const place = new PlaceOrder(store.uow, systemClock);
    await Promise.allSettled([
      asJob(3, `order:${orderId}`, () => place.execute({ commandId: placed, orderId, userId, items: [{ productId, quantity: 1 }] })),
      // A domain failure inside a group transaction.
      asJob(1, 'order:other', () => place.execute({ commandId: refused, orderId: newId(), userId, items: [{ productId, quantity: 5 }] })),
      // A unique violation: the group rolls back and this one's failure is recorded on its own.
      asJob(2, 'user:dup', () =>
        new RegisterUser(store.uow, systemClock).execute({ commandId: taken, userId: newId(), email: 'attempts@example.com', name: 'B' }),
      ),
    ]);
    const rows = await store.sql<{ command_id: string; status: string; attempts: number | null; aggregate_key: string | null }>(
      'select command_id, status, attempts, aggregate_key from processed_commands where command_id in (?, ?, ?)',
      [placed, refused, taken],
    );
    expect(Object.fromEntries(rows.map((row) => [row.command_id, [row.status, row.attempts, row.aggregate_key]]))).toEqual({
      [placed]: ['succeeded', 3, `order:${orderId}`],
      [refused]: ['failed', 1, 'order:other'],
      [taken]: ['failed', 2, 'user:dup'],
    });
    // Outside a job (a use case called directly) there is nothing to record.
    const [direct] = await store.sql('select attempts, aggregate_key from processed_commands where command_type = ? limit 1', ['AddProduct']);
    expect(direct).toEqual({ attempts: null, aggregate_key: null });
  });

  it('turns a unique violation on users.email into email_taken', async () => {
    await registerUser('taken@example.com');
    await expect(registerUser('TAKEN@example.com')).rejects.toMatchObject({ code: 'email_taken' });
  });

  it('turns a unique violation on products.sku into sku_taken', async () => {
    const add = new AddProduct(store.uow, systemClock);
    const product = { sku: 'DUP-1', name: 'x', price: { amount: '1.00', currency: 'EUR' }, stock: 1 };
    await add.execute({ commandId: newId(), productId: newId(), ...product });
    await expect(add.execute({ commandId: newId(), productId: newId(), ...product })).rejects.toMatchObject({
      code: 'sku_taken',
    });
  });

  it('stores an order with captured prices and exact totals, and cancelling returns stock', async () => {
    const userId = await registerUser();
    const a = await addProduct(10, '19.99');
    const b = await addProduct(10, '0.10');
    const orderId = newId();
    const placed = await new PlaceOrder(store.uow, systemClock).execute({
      commandId: newId(),
      orderId,
      userId,
      items: [
        { productId: a, quantity: 3 },
        { productId: b, quantity: 7 },
      ],
    });
    expect(placed).toEqual({ orderId, total: { amount: '60.67', currency: 'EUR' } });
    await new ConfirmOrder(store.uow, systemClock).execute({ commandId: newId(), orderId });
    await new CancelOrder(store.uow, systemClock).execute({ commandId: newId(), orderId, reason: 'changed my mind' });
    const [order] = await store.sql('select status, total_minor, cancel_reason from orders where id = ?', [orderId]);
    expect(order).toEqual({ status: 'cancelled', total_minor: '6067', cancel_reason: 'changed my mind' });
    const stocks = await store.sql<{ stock: number }>('select stock from products where id in (?, ?)', [a, b]);
    expect(stocks.map((s) => s.stock)).toEqual([10, 10]);
    const types = await store.sql<{ type: string }>('select type from outbox_messages where aggregate_id = ? order by id', [
      orderId,
    ]);
    expect(types.map((t) => t.type)).toEqual(['order.placed', 'order.confirmed', 'order.cancelled']);
    await expect(
      new ConfirmOrder(store.uow, systemClock).execute({ commandId: newId(), orderId }),
    ).rejects.toMatchObject({ code: 'invalid_transition' });
  });
});
