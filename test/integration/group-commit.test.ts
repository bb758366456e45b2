// Group commit: commands that reach the unit of work while a transaction is running share the
// next one. What a user would notice is only that every command still gets its own outcome,
// applied once; the batch sizes show that the grouping really happened.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CancelOrder } from '../../src/application/commerce/use-cases/cancel-order.js';
import { ExpireOrder } from '../../src/application/commerce/use-cases/expire-order.js';
import { PlaceOrder } from '../../src/application/commerce/use-cases/place-order.js';
import { RegisterUser } from '../../src/application/commerce/use-cases/register-user.js';
import { RestockProduct } from '../../src/application/commerce/use-cases/restock-product.js';
import { systemClock } from '../../src/application/clock.js';
import { MikroOrmUnitOfWork } from '../../src/infrastructure/persistence/mikro-orm-unit-of-work.js';
import { addProductThrough, registerUserThrough } from '../support/commerce.js';
import { newId, ormOnFreshDatabase, type OrmFixture } from '../support/orm.js';
import { recordTrips } from '../support/trips.js';

let db: OrmFixture;
let batches: { size: number; fellBack: boolean }[];
let uow: MikroOrmUnitOfWork;

beforeAll(async () => {
  db = await ormOnFreshDatabase(20);
});
afterAll(() => db.close());

function groupedUnitOfWork(options: { maxBatch?: number; maxConcurrentBatches?: number } = {}) {
  batches = [];
  uow = new MikroOrmUnitOfWork(db.orm, undefined, { ...options, onBatch: (size, fellBack) => batches.push({ size, fellBack }) });
  return uow;
}

const registerUser = (email?: string) => registerUserThrough(uow, { email });
const addProduct = (stock: number) => addProductThrough(uow, stock, { amount: '2.50' });

/** A grouped unit of work, a user and a product with `stock` units on it; the batches of that set-up are forgotten. */
async function orderingOnGroupedUnitOfWork(options: Parameters<typeof groupedUnitOfWork>[0], stock: number) {
  groupedUnitOfWork(options);
  const userId = await registerUser();
  const productId = await addProduct(stock);
  batches.length = 0;
  return { userId, productId, place: new PlaceOrder(uow, systemClock) };
}

describe('group commit in the unit of work', () => {
  it('runs concurrent commands in shared transactions, each applied once with its own events', async () => {
    const { userId, productId, place } = await orderingOnGroupedUnitOfWork({ maxBatch: 16, maxConcurrentBatches: 1 }, 100);
    const commands = Array.from({ length: 40 }, () => ({ commandId: newId(), orderId: newId() }));
    const results = await Promise.all(
      commands.map(({ commandId, orderId }) =>
        place.execute({ commandId, orderId, userId, items: [{ productId, quantity: 2 }] }),
      ),
    );
    expect(results).toEqual(commands.map(({ orderId }) => ({ orderId, total: { amount: '5.00', currency: 'EUR' } })));

    // 40 commands, at most 16 a transaction, one transaction at a time: they were grouped.
    expect(batches.every((batch) => !batch.fellBack)).toBe(true);
    expect(batches.reduce((sum, batch) => sum + batch.size, 0)).toBe(40);
    expect(Math.max(...batches.map((batch) => batch.size))).toBeGreaterThan(1);
    expect(Math.max(...batches.map((batch) => batch.size))).toBeLessThanOrEqual(16);

    const [product] = await db.sql<{ stock: number }>('select stock from products where id = ?', [productId]);
    expect(product?.stock).toBe(20);
    const rows = await db.sql<{ command_id: string; aggregate_id: string }>(
      `select command_id, aggregate_id from outbox_messages where type = 'order.placed' and aggregate_id in
         (select id from orders where user_id = ?)`,
      [userId],
    );
    // One order.placed per command, on its own order, carrying its own command id.
    expect(new Map(rows.map((row) => [row.command_id, row.aggregate_id]))).toEqual(
      new Map(commands.map(({ commandId, orderId }) => [commandId, orderId])),
    );
  });

  it('two groups at once on the same few products wait for each other instead of deadlocking', async () => {
    // Orders of one to three of six products, 16 in flight as in a worker, two group
    // transactions at a time. Each command locks its own products in id order, but a group
    // holds what its earlier commands locked while a later one asks for more: two groups
    // would take the same rows in different orders, and every deadlock costs PostgreSQL's
    // deadlock_timeout (1 s) and the aborted group's run again one by one.
    groupedUnitOfWork({ maxBatch: 8, maxConcurrentBatches: 2 });
    const userId = await registerUser();
    const products: string[] = [];
    for (let i = 0; i < 6; i += 1) products.push(await addProduct(100_000));
    batches.length = 0;
    const place = new PlaceOrder(uow, systemClock);
    const orders = Array.from({ length: 240 }, (_, n) => ({
      commandId: newId(),
      orderId: newId(),
      userId,
      items: Array.from({ length: 1 + (n % 3) }, (_, line) => ({ productId: products[(n * 5 + line * 2) % 6]!, quantity: 1 + (line % 2) })),
    }));
    const results: unknown[] = [];
    let next = 0;
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (next < orders.length) {
          const order = orders[next++]!;
          results.push(await place.execute(order));
        }
      }),
    );

    expect(results).toHaveLength(240);
    expect(batches.filter((batch) => batch.fellBack), 'groups rolled back (deadlocks)').toEqual([]);
    expect(Math.max(...batches.map((batch) => batch.size))).toBeGreaterThan(1);
    for (const [index, productId] of products.entries()) {
      const units = orders.flatMap((order) => order.items).filter((item) => item.productId === productId).reduce((sum, item) => sum + item.quantity, 0);
      const [row] = await db.sql<{ stock: number }>('select stock from products where id = ?', [productId]);
      expect(row?.stock, `stock of product ${index}`).toBe(100_000 - units);
    }
  });

  it('cancelling and expiring orders beside new ones on the same few products waits instead of deadlocking', async () => {
    // A cancel or an expiry learns its products from the order, and an expiry sweep sends many
    // at once. Mixed with new orders in groups, two groups at once on six products.
    groupedUnitOfWork({ maxBatch: 8, maxConcurrentBatches: 2 });
    const userId = await registerUser();
    const products: string[] = [];
    for (let i = 0; i < 6; i += 1) products.push(await addProduct(100_000));
    const itemsOf = (n: number) =>
      Array.from({ length: 1 + (n % 3) }, (_, line) => ({ productId: products[(n * 5 + line * 2) % 6]!, quantity: 1 + (line % 2) }));
    const place = new PlaceOrder(uow, systemClock);
    const placed = Array.from({ length: 160 }, (_, n) => ({ commandId: newId(), orderId: newId(), userId, items: itemsOf(n) }));
    for (const order of placed) await place.execute(order);
    batches.length = 0;

    const cancel = new CancelOrder(uow, systemClock);
    const expire = new ExpireOrder(uow, systemClock);
    const fresh = Array.from({ length: 40 }, (_, n) => ({ commandId: newId(), orderId: newId(), userId, items: itemsOf(n + 1) }));
    // Cancels and expiries in turn, a new order after every fourth, 16 in flight as in a worker.
    const work = placed.flatMap((order, n) => [
      n % 2 === 0
        ? () => cancel.execute({ commandId: newId(), orderId: order.orderId, reason: 'changed my mind' })
        : () => expire.execute({ commandId: newId(), orderId: order.orderId }),
      ...(n % 4 === 3 ? [() => place.execute(fresh[(n - 3) / 4]!)] : []),
    ]);
    let next = 0;
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (next < work.length) await work[next++]!();
      }),
    );

    expect(batches.filter((batch) => batch.fellBack), 'groups rolled back (deadlocks)').toEqual([]);
    expect(Math.max(...batches.map((batch) => batch.size))).toBeGreaterThan(1);
    const [statuses] = await db.sql<{ cancelled: string; pending: string }>(
      `select count(*) filter (where status = 'cancelled') as cancelled, count(*) filter (where status = 'pending') as pending
         from orders where user_id = ?`,
      [userId],
    );
    expect(statuses).toEqual({ cancelled: '160', pending: '40' });
    // Only the new orders' units are still taken.
    for (const [index, productId] of products.entries()) {
      const units = fresh.flatMap((order) => order.items).filter((item) => item.productId === productId).reduce((sum, item) => sum + item.quantity, 0);
      const [row] = await db.sql<{ stock: number }>('select stock from products where id = ?', [productId]);
      expect(row?.stock, `stock of product ${index}`).toBe(100_000 - units);
    }
  });

  it('records a domain failure inside a group without disturbing the other commands of the group', async () => {
    const { userId, productId, place } = await orderingOnGroupedUnitOfWork({ maxBatch: 32, maxConcurrentBatches: 1 }, 5);
    // Ten orders of one unit each for five units: five succeed and five fail, whatever groups form.
    const outcomes = await Promise.allSettled(
      Array.from({ length: 10 }, () =>
        place.execute({ commandId: newId(), orderId: newId(), userId, items: [{ productId, quantity: 1 }] }),
      ),
    );
    expect(outcomes.filter((outcome) => outcome.status === 'fulfilled')).toHaveLength(5);
    const failures = outcomes.filter((outcome): outcome is PromiseRejectedResult => outcome.status === 'rejected');
    expect(failures.map((failure) => (failure.reason as { code: string }).code)).toEqual(Array(5).fill('insufficient_stock'));
    expect(batches.every((batch) => !batch.fellBack)).toBe(true);
    expect(Math.max(...batches.map((batch) => batch.size))).toBeGreaterThan(1);
    const statuses = await db.sql<{ status: string; n: string }>(
      `select status, count(*) as n from processed_commands where command_type = 'PlaceOrder'
         and command_id in (select command_id from processed_commands order by processed_at desc limit 10)
       group by status order by status`,
    );
    expect(statuses).toEqual([
      { status: 'failed', n: '5' },
      { status: 'succeeded', n: '5' },
    ]);
    const [product] = await db.sql<{ stock: number }>('select stock from products where id = ?', [productId]);
    expect(product?.stock).toBe(0);
  });

  it('rolls a group back on a database error and runs its commands one by one, so only the offender fails', async () => {
    groupedUnitOfWork({ maxBatch: 32, maxConcurrentBatches: 1 });
    await registerUser('taken-in-group@example.com');
    batches.length = 0;
    const register = new RegisterUser(uow, systemClock);
    const emails = ['a-in-group@example.com', 'TAKEN-in-group@example.com', 'b-in-group@example.com', 'c-in-group@example.com'];
    const ids = emails.map(() => newId());
    const outcomes = await Promise.allSettled(
      emails.map((email, i) => register.execute({ commandId: newId(), userId: ids[i]!, email, name: 'Bo' })),
    );
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
    expect((outcomes[1] as PromiseRejectedResult).reason).toMatchObject({ code: 'email_taken' });
    expect(batches.some((batch) => batch.fellBack)).toBe(true);
    const users = await db.sql<{ email: string }>('select email from users where id in (?, ?, ?, ?) order by email', ids);
    expect(users.map((user) => user.email)).toEqual(['a-in-group@example.com', 'b-in-group@example.com', 'c-in-group@example.com']);
  });

  it('runs the same command id once when it arrives twice in one group', async () => {
    const { userId, productId, place } = await orderingOnGroupedUnitOfWork({ maxBatch: 32, maxConcurrentBatches: 1 }, 10);
    const input = { commandId: newId(), orderId: newId(), userId, items: [{ productId, quantity: 3 }] };
    const blocker = place.execute({ commandId: newId(), orderId: newId(), userId, items: [{ productId, quantity: 1 }] });
    const [, first, second] = await Promise.all([blocker, place.execute(input), place.execute({ ...input })]);
    expect(first).toEqual(second);
    expect(batches.every((batch) => !batch.fellBack)).toBe(true);
    const [product] = await db.sql<{ stock: number }>('select stock from products where id = ?', [productId]);
    expect(product?.stock).toBe(6);
    expect(await db.sql('select 1 from orders where id = ?', [input.orderId])).toHaveLength(1);
  });

  it('reads a group\'s products and users once, and each command sees what the commands before it wrote', async () => {
    const { userId, productId, place } = await orderingOnGroupedUnitOfWork({ maxBatch: 32, maxConcurrentBatches: 1 }, 10);
    const restock = new RestockProduct(uow, systemClock);
    const register = new RegisterUser(uow, systemClock);
    const trips = recordTrips();
    const newUserId = newId();
    const order = (user: string, quantity: number) => place.execute({ commandId: newId(), orderId: newId(), userId: user, items: [{ productId, quantity }] });
    let outcomes: PromiseSettledResult<unknown>[];
    try {
      // The first runs alone; the rest arrive while it runs and share the next transaction.
      outcomes = await Promise.allSettled([
        order(userId, 1), // 9 left
        order(userId, 3), // 6
        restock.execute({ commandId: newId(), productId, quantity: 4 }), // 10
        order(userId, 8), // 2
        register.execute({ commandId: newId(), userId: newUserId, email: `${newUserId}@example.com`, name: 'Ada' }),
        order(newUserId, 3), // a user registered earlier in the group; 2 left, so it fails
        order(newUserId, 2), // 0
      ]);
    } finally {
      trips.stop();
    }
    expect(batches).toEqual([
      { size: 1, fellBack: false },
      { size: 6, fellBack: false },
    ]);
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled', 'fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
    expect((outcomes[2] as PromiseFulfilledResult<unknown>).value).toEqual({ productId, stock: 10 });
    expect((outcomes[5] as PromiseRejectedResult).reason).toMatchObject({ code: 'insufficient_stock' });
    // The price comes from the row read ahead (a bigint column) after two writes to it.
    expect((outcomes[6] as PromiseFulfilledResult<unknown>).value).toMatchObject({ total: { amount: '5.00', currency: 'EUR' } });
    const [product] = await db.sql<{ stock: number }>('select stock from products where id = ?', [productId]);
    expect(product?.stock).toBe(0);
    // The command running alone read the product and the user itself; the group's commands
    // took them from the group's first statement.
    const count = (text: string) => trips.texts.filter((statement) => statement.includes(text)).length;
    expect(count(`select * from products where id in ('${productId}') order by id for update`)).toBe(1);
    expect(count(`select * from users where id = '${userId}'`)).toBe(1);
    expect(count(`select * from products where id in (select value::uuid from jsonb_array_elements_text('["${productId}"]'::jsonb)) order by id for update`)).toBe(1);
  });

  it('with maxBatch 1 runs every command in a transaction of its own', async () => {
    groupedUnitOfWork({ maxBatch: 1 });
    const userId = await registerUser();
    const productId = await addProduct(10);
    const place = new PlaceOrder(uow, systemClock);
    await Promise.all(
      Array.from({ length: 5 }, () =>
        place.execute({ commandId: newId(), orderId: newId(), userId, items: [{ productId, quantity: 1 }] }),
      ),
    );
    expect(batches).toEqual([]);
    const [product] = await db.sql<{ stock: number }>('select stock from products where id = ?', [productId]);
    expect(product?.stock).toBe(5);
  });
});
