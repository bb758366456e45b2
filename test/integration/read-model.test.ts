import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Clock } from '../../src/application/clock.js';
import { AddProduct } from '../../src/application/commerce/use-cases/add-product.js';
import { CancelOrder } from '../../src/application/commerce/use-cases/cancel-order.js';
import { ConfirmOrder } from '../../src/application/commerce/use-cases/confirm-order.js';
import { PlaceOrder } from '../../src/application/commerce/use-cases/place-order.js';
import { RegisterUser } from '../../src/application/commerce/use-cases/register-user.js';
import { MikroOrmUnitOfWork } from '../../src/infrastructure/persistence/mikro-orm-unit-of-work.js';
import { createReadPool, PgReadModel } from '../../src/infrastructure/read/pg-read-model.js';
import { runCommandJob } from '../../src/infrastructure/ordering/predecessor.js';
import { newId, ormOnFreshDatabase, type OrmFixture } from '../support/orm.js';

// Every write goes through the real use cases and unit of work, at times set on this clock,
// and is read back through a read-only pool of its own.
let now = new Date('2026-01-01T00:00:00.000Z');
const clock: Clock = { now: () => now };
const at = (iso: string) => {
  now = new Date(iso);
};

let db: OrmFixture;
let uow: MikroOrmUnitOfWork;
let pool: pg.Pool;
let reads: PgReadModel;

beforeAll(async () => {
  db = await ormOnFreshDatabase(5);
  uow = new MikroOrmUnitOfWork(db.orm, () => now);
  pool = createReadPool(db.url, 4);
  reads = new PgReadModel(pool);
});
afterAll(async () => {
  await pool.end();
  await db.close();
});

async function registerUser(): Promise<string> {
  const userId = newId();
  await new RegisterUser(uow, clock).execute({ commandId: newId(), userId, email: `${userId}@example.com`, name: 'Ann' });
  return userId;
}

async function addProduct(amount: string, currency = 'EUR', stock = 1000, name = 'Widget'): Promise<string> {
  const productId = newId();
  await new AddProduct(uow, clock).execute({
    commandId: newId(),
    productId,
    sku: `SKU-${productId.slice(-12)}`,
    name,
    price: { amount, currency },
    stock,
  });
  return productId;
}

async function placeOrder(userId: string, items: [productId: string, quantity: number][], orderId = newId()) {
  await new PlaceOrder(uow, clock).execute({
    commandId: newId(),
    orderId,
    userId,
    items: items.map(([productId, quantity]) => ({ productId, quantity })),
  });
  return orderId;
}

async function cancelOrder(orderId: string, reason: string): Promise<void> {
  await new CancelOrder(uow, clock).execute({ commandId: newId(), orderId, reason });
}

describe('PgReadModel.findOrder', () => {
  it('returns the items with captured unit prices, exact line totals and total', async () => {
    at('2026-01-05T10:00:00.000Z');
    const userId = await registerUser();
    const a = await addProduct('19.99', 'EUR', 10, 'Teapot');
    const b = await addProduct('0.10', 'EUR', 10, 'Spoon');
    at('2026-01-05T10:30:00.123Z');
    const orderId = await placeOrder(userId, [
      [a, 3],
      [b, 7],
    ]);

    expect(await reads.findOrder(orderId)).toEqual({
      orderId,
      userId,
      status: 'pending',
      items: [
        {
          productId: a,
          sku: `SKU-${a.slice(-12)}`,
          name: 'Teapot',
          quantity: 3,
          unitPrice: { amount: '19.99', currency: 'EUR' },
          lineTotal: { amount: '59.97', currency: 'EUR' },
        },
        {
          productId: b,
          sku: `SKU-${b.slice(-12)}`,
          name: 'Spoon',
          quantity: 7,
          unitPrice: { amount: '0.10', currency: 'EUR' },
          lineTotal: { amount: '0.70', currency: 'EUR' },
        },
      ],
      total: { amount: '60.67', currency: 'EUR' },
      cancellationReason: null,
      placedAt: '2026-01-05T10:30:00.123Z',
      updatedAt: '2026-01-05T10:30:00.123Z',
    });
  });

  it('formats amounts with the digits of the order currency', async () => {
    const userId = await registerUser();
    const yen = await addProduct('500', 'JPY');
    const orderId = await placeOrder(userId, [[yen, 3]]);
    const order = await reads.findOrder(orderId);
    expect(order?.items[0]?.lineTotal).toEqual({ amount: '1500', currency: 'JPY' });
    expect(order?.total).toEqual({ amount: '1500', currency: 'JPY' });
  });

  it('shows a cancelled order with its reason and the time it changed', async () => {
    at('2026-01-06T08:00:00.000Z');
    const userId = await registerUser();
    const product = await addProduct('5.00');
    const orderId = await placeOrder(userId, [[product, 1]]);
    at('2026-01-06T09:00:00.000Z');
    await new ConfirmOrder(uow, clock).execute({ commandId: newId(), orderId });
    at('2026-01-06T10:00:00.000Z');
    await cancelOrder(orderId, '  changed my mind ');

    expect(await reads.findOrder(orderId)).toMatchObject({
      status: 'cancelled',
      cancellationReason: 'changed my mind',
      placedAt: '2026-01-06T08:00:00.000Z',
      updatedAt: '2026-01-06T10:00:00.000Z',
    });
  });

  it('returns null for an unknown order and for an id that is not a UUID', async () => {
    expect(await reads.findOrder(newId())).toBeNull();
    expect(await reads.findOrder('not-a-uuid')).toBeNull();
  });
});

describe('PgReadModel.listUserOrders', () => {
  let userId: string;
  let newestFirst: string[];

  beforeAll(async () => {
    userId = await registerUser();
    const other = await registerUser();
    const product = await addProduct('1.00');
    const placed: { id: string; at: string }[] = [];
    for (const time of [
      '2026-02-01T00:00:00.000Z',
      '2026-02-02T00:00:00.000Z',
      '2026-02-04T00:00:00.000Z',
      // Two orders in the same millisecond: the id decides.
      '2026-02-03T00:00:00.000Z',
      '2026-02-03T00:00:00.000Z',
    ]) {
      at(time);
      placed.push({ id: await placeOrder(userId, [[product, 1]]), at: time });
      await placeOrder(other, [[product, 1]]);
    }
    newestFirst = placed
      .sort((x, y) => (x.at === y.at ? (x.id < y.id ? 1 : -1) : x.at < y.at ? 1 : -1))
      .map((order) => order.id);
  });

  it('pages the user’s orders newest first, with the total on every page', async () => {
    const ids = async (page: number, pageSize: number) => {
      const result = await reads.listUserOrders(userId, page, pageSize);
      expect(result).toMatchObject({ total: 5, page, pageSize });
      return result.items.map((order) => order.orderId);
    };
    expect(await ids(1, 2)).toEqual(newestFirst.slice(0, 2));
    expect(await ids(2, 2)).toEqual(newestFirst.slice(2, 4));
    expect(await ids(3, 2)).toEqual(newestFirst.slice(4));
    expect(await ids(1, 100)).toEqual(newestFirst);
  });

  it('answers a page past the end with no items and the real total', async () => {
    expect(await reads.listUserOrders(userId, 4, 2)).toEqual({ items: [], total: 5, page: 4, pageSize: 2 });
  });

  it('maps the listed orders like findOrder does', async () => {
    const page = await reads.listUserOrders(userId, 1, 1);
    const first = page.items[0];
    expect(first?.orderId).toBe(newestFirst[0]);
    expect(first).toEqual(await reads.findOrder(newestFirst[0] ?? ''));
  });

  it('returns an empty page for a user without orders', async () => {
    const loner = await registerUser();
    expect(await reads.listUserOrders(loner, 1, 20)).toEqual({ items: [], total: 0, page: 1, pageSize: 20 });
    expect(await reads.listUserOrders('nope', 1, 20)).toEqual({ items: [], total: 0, page: 1, pageSize: 20 });
  });

  it('refuses a page or page size out of range', async () => {
    await expect(reads.listUserOrders(userId, 0, 10)).rejects.toThrow(RangeError);
    await expect(reads.listUserOrders(userId, 1, 0)).rejects.toThrow(RangeError);
    await expect(reads.listUserOrders(userId, 1, 101)).rejects.toThrow(RangeError);
    await expect(reads.listUserOrders(userId, 1.5, 10)).rejects.toThrow(RangeError);
  });

  it('reads a user’s page through orders_user_id_placed_at_index', async () => {
    // A few thousand orders of 30 users, written directly: the plan is what is under test.
    await db.orm.em.fork().getConnection().execute(
      `insert into orders (id, user_id, status, items, total_minor, currency, placed_at, updated_at)
       select gen_random_uuid(), md5('bulk-' || (i % 30))::uuid, 'pending',
              '[{"productId":"00000000-0000-7000-8000-000000000000","sku":"B","name":"b","quantity":1,"unitPriceMinor":100}]',
              100, 'EUR', ts, ts
       from generate_series(1, 3000) i, lateral (select timestamptz '2026-03-01' - i * interval '1 minute' as ts) t`,
    );
    await db.orm.em.fork().getConnection().execute('analyze orders');
    const [{ id: bulkUser } = { id: '' }] = await db.orm.em
      .fork()
      .getConnection()
      .execute<{ id: string }[]>(`select md5('bulk-7')::uuid::text as id`);

    const query = vi.spyOn(pool, 'query');
    const page = await reads.listUserOrders(bulkUser, 3, 20);
    expect(page.total).toBe(100);
    expect(page.items).toHaveLength(20);
    const [text, values] = query.mock.calls.at(-1) as unknown as [string, unknown[]];
    query.mockRestore();

    const { rows } = await pool.query<{ 'QUERY PLAN': string }>(
      `explain (analyze, costs off, timing off, summary off) ${text}`,
      values,
    );
    const plan = rows.map((row) => row['QUERY PLAN']).join('\n');
    expect(plan).toContain('orders_user_id_placed_at_index');
    expect(plan).not.toMatch(/Seq Scan on orders/);
  });
});

describe('PgReadModel.userOrderSummary', () => {
  let userId: string;

  beforeAll(async () => {
    userId = await registerUser();
    const cent = await addProduct('0.01');
    const ten = await addProduct('10.00');
    const fifty = await addProduct('50.00');
    at('2026-01-10T12:00:00.000Z');
    await placeOrder(userId, [[ten, 1]]); // 10.00
    at('2026-02-01T00:00:00.000Z');
    await placeOrder(userId, [[cent, 2]]); // 0.02, on the lower bound
    at('2026-02-10T12:00:00.000Z');
    await placeOrder(userId, [[cent, 3]]); // 0.03
    at('2026-02-15T12:00:00.000Z');
    const cancelled = await placeOrder(userId, [[fifty, 2]]); // 100.00, cancelled next day
    at('2026-02-16T12:00:00.000Z');
    await cancelOrder(cancelled, 'duplicate');
    at('2026-02-28T23:59:59.999Z');
    await placeOrder(userId, [[ten, 1]]); // 10.00
    at('2026-03-01T00:00:00.000Z');
    await placeOrder(userId, [[fifty, 1]]); // 50.00, on the (excluded) upper bound
  });

  const summary = (from: string | null, to: string | null) =>
    reads.userOrderSummary(userId, from === null ? null : new Date(from), to === null ? null : new Date(to));

  it('counts orders placed in [from, to), without cancelled ones', async () => {
    expect(await summary('2026-02-01T00:00:00.000Z', '2026-03-01T00:00:00.000Z')).toEqual({
      totalOrders: 3,
      totalSpent: '10.05',
      averageOrderValue: '3.35',
      currency: 'EUR',
    });
  });

  it('rounds the average half up, in minor units', async () => {
    // 0.05 / 2 = 0.025 → 0.03 (half up; half-even or truncation would say 0.02).
    expect(await summary('2026-02-01T00:00:00.000Z', '2026-02-11T00:00:00.000Z')).toEqual({
      totalOrders: 2,
      totalSpent: '0.05',
      averageOrderValue: '0.03',
      currency: 'EUR',
    });
    // 20.05 / 4 = 5.0125 → 5.01.
    expect(await summary('2026-01-01T00:00:00.000Z', '2026-03-01T00:00:00.000Z')).toMatchObject({
      totalOrders: 4,
      totalSpent: '20.05',
      averageOrderValue: '5.01',
    });
  });

  it('treats a missing bound as open', async () => {
    expect(await summary(null, null)).toEqual({
      totalOrders: 5,
      totalSpent: '70.05',
      averageOrderValue: '14.01',
      currency: 'EUR',
    });
    expect(await summary(null, '2026-02-01T00:00:00.000Z')).toMatchObject({ totalOrders: 1, totalSpent: '10.00' });
    expect(await summary('2026-03-01T00:00:00.000Z', null)).toMatchObject({ totalOrders: 1, totalSpent: '50.00' });
  });

  it('answers zeros with no currency when nothing counts', async () => {
    const zeros = { totalOrders: 0, totalSpent: '0', averageOrderValue: '0', currency: null };
    // Only the cancelled order was placed in this range.
    expect(await summary('2026-02-15T00:00:00.000Z', '2026-02-16T00:00:00.000Z')).toEqual(zeros);
    expect(await reads.userOrderSummary(await registerUser(), null, null)).toEqual(zeros);
    expect(await reads.userOrderSummary('nope', null, null)).toEqual(zeros);
  });

  it('summarises the currency with the most orders when a user has several', async () => {
    const mixed = await registerUser();
    await placeOrder(mixed, [[await addProduct('100.00', 'EUR'), 1]]);
    const dollar = await addProduct('1.00', 'USD');
    await placeOrder(mixed, [[dollar, 1]]);
    await placeOrder(mixed, [[dollar, 2]]);
    expect(await reads.userOrderSummary(mixed, null, null)).toEqual({
      totalOrders: 2,
      totalSpent: '3.00',
      averageOrderValue: '1.50',
      currency: 'USD',
    });

    // A tie goes to the alphabetically first code, formatted with its own digits.
    const tied = await registerUser();
    await placeOrder(tied, [[dollar, 1]]);
    await placeOrder(tied, [[await addProduct('500', 'JPY'), 3]]);
    expect(await reads.userOrderSummary(tied, null, null)).toEqual({
      totalOrders: 1,
      totalSpent: '1500',
      averageOrderValue: '1500',
      currency: 'JPY',
    });
  });
});

describe('PgReadModel.findProduct', () => {
  it('shows the current stock after an order took some', async () => {
    at('2026-04-01T09:00:00.000Z');
    const productId = await addProduct('12.50', 'EUR', 10, 'Kettle');
    const userId = await registerUser();
    at('2026-04-02T09:00:00.000Z');
    await placeOrder(userId, [[productId, 3]]);

    expect(await reads.findProduct(productId)).toEqual({
      productId,
      sku: `SKU-${productId.slice(-12)}`,
      name: 'Kettle',
      price: { amount: '12.50', currency: 'EUR' },
      stock: 7,
      createdAt: '2026-04-01T09:00:00.000Z',
      updatedAt: '2026-04-02T09:00:00.000Z',
    });
  });

  it('returns null for an unknown product', async () => {
    expect(await reads.findProduct(newId())).toBeNull();
    expect(await reads.findProduct('')).toBeNull();
  });
});

describe('PgReadModel.findProcessedCommand', () => {
  it('returns the stored result of a command that succeeded', async () => {
    at('2026-05-01T00:00:00.000Z');
    const commandId = newId();
    const userId = newId();
    // Run as the worker runs a job that a key sent: the outcome records the key's name.
    await runCommandJob({ sentBy: { keyId: '01930000-0000-7000-8000-00000000beef', name: 'shop' } }, () =>
      new RegisterUser(uow, clock).execute({ commandId, userId, email: `${userId}@example.com`, name: 'Bo' }),
    );
    expect(await reads.findProcessedCommand(commandId)).toEqual({
      commandId,
      type: 'RegisterUser',
      status: 'succeeded',
      result: { userId },
      error: null,
      processedAt: '2026-05-01T00:00:00.000Z',
      sentBy: 'shop',
    });
  });

  it('returns the error of a command that failed', async () => {
    const userId = await registerUser();
    const productId = await addProduct('1.00', 'EUR', 1);
    const commandId = newId();
    await expect(
      new PlaceOrder(uow, clock).execute({ commandId, orderId: newId(), userId, items: [{ productId, quantity: 2 }] }),
    ).rejects.toMatchObject({ code: 'insufficient_stock' });
    expect(await reads.findProcessedCommand(commandId)).toEqual({
      commandId,
      type: 'PlaceOrder',
      status: 'failed',
      result: null,
      error: { code: 'insufficient_stock', message: expect.stringContaining('1 in stock, 2 requested') },
      processedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      sentBy: null,
    });
  });

  it('returns null for an unknown command', async () => {
    expect(await reads.findProcessedCommand(newId())).toBeNull();
    expect(await reads.findProcessedCommand('x')).toBeNull();
  });
});

describe('createReadPool', () => {
  it('opens read-only sessions', async () => {
    await expect(
      pool.query(`insert into users (id, email, name, created_at) values ($1, 'w@example.com', 'W', now())`, [newId()]),
    ).rejects.toMatchObject({ code: '25006' });
  });
});
