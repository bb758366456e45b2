// The flush's update of one entity by its primary key is a plain statement
// (src/infrastructure/persistence/driver.ts) instead of MikroORM's QueryBuilder. It must send
// what MikroORM's own driver sends, byte for byte, and leave the rows as MikroORM's would; an
// update it does not cover goes to MikroORM's own path.
import { PostgreSqlDriver, raw } from '@mikro-orm/postgresql';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { PlaceOrder } from '../../src/application/commerce/use-cases/place-order.js';
import { systemClock } from '../../src/application/clock.js';
import { Quantity } from '../../src/domain/index.js';
import { ProductSchema } from '../../src/infrastructure/persistence/schemas.js';
import { WebhookEndpointSchema } from '../../src/infrastructure/persistence/delivery-schemas.js';
import { ScheduleRunSchema } from '../../src/infrastructure/persistence/scheduling-schemas.js';
import { MikroOrmUnitOfWork } from '../../src/infrastructure/persistence/mikro-orm-unit-of-work.js';
import { MikroORM, ormConfig } from '../../src/infrastructure/persistence/mikro-orm.js';
import { mikroOrmRepositories } from '../../src/infrastructure/persistence/repositories.js';
import { addProductThrough, registerUserThrough } from '../support/commerce.js';
import { newId, ormOnFreshDatabase, type OrmFixture } from '../support/orm.js';
import { recordTrips } from '../support/trips.js';

let db: OrmFixture;
/** The same configuration on MikroORM's own PostgreSQL driver: the reference. */
let reference: MikroORM;
let uow: MikroOrmUnitOfWork;

beforeAll(async () => {
  db = await ormOnFreshDatabase(4);
  reference = await MikroORM.init({ ...ormConfig({ databaseUrl: db.url, poolSize: 2 }), driver: PostgreSqlDriver });
  uow = new MikroOrmUnitOfWork(db.orm);
});
afterAll(async () => {
  await reference.close(true);
  await db.close();
});
afterEach(() => vi.restoreAllMocks());

/** The UPDATE statements sent to PostgreSQL while `work` runs, as sent (values inlined by MikroORM). */
async function updatesSentBy(work: () => Promise<void>): Promise<string[]> {
  const trips = recordTrips();
  try {
    await work();
  } finally {
    trips.stop();
  }
  return trips.texts.filter((text) => /^update /i.test(text));
}

const NOW = new Date('2026-12-03T10:00:00.123Z');

/** Reserves 3 of the product and cancels the order (its status, reason and time; the stock back), on `orm`, in one flush each. */
async function reserveThenCancel(orm: MikroORM, productId: string, orderId: string): Promise<void> {
  await orm.em.fork().transactional(async (em) => {
    const { products } = mikroOrmRepositories(em, new Set());
    (await products.findManyForUpdate([productId])).get(productId)!.reserve(Quantity.of(3), NOW);
  });
  await orm.em.fork().transactional(async (em) => {
    const { products, orders } = mikroOrmRepositories(em, new Set());
    const order = (await orders.findByIdForUpdate(orderId))!;
    order.cancel('changed their mind; it’s "fine"', await products.findManyForUpdate([productId]), NOW);
  });
}

const rowsOf = async (productId: string, orderId: string) => ({
  product: await db.sql('select stock, updated_at from products where id = ?', [productId]),
  order: await db.sql('select status, cancel_reason, items, total_minor, updated_at from orders where id = ?', [orderId]),
});

describe('the flush’s update by primary key', () => {
  it('sends what MikroORM’s own driver sends and leaves the same rows', async () => {
    const userId = await registerUserThrough(uow);
    const productId = await addProductThrough(uow, 10);
    const orderId = newId();
    await new PlaceOrder(uow, systemClock).execute({ commandId: newId(), orderId, userId, items: [{ productId, quantity: 2 }] });
    const before = await db.sql<Record<string, unknown>>('select * from orders where id = ?', [orderId]);
    const placedStock = (await db.sql<{ stock: number }>('select stock from products where id = ?', [productId]))[0]!.stock;

    const sentByReference = await updatesSentBy(() => reserveThenCancel(reference, productId, orderId));
    const rowsByReference = await rowsOf(productId, orderId);

    // The same starting rows, then the same changes through conveyor's driver.
    await db.sql(`update orders set status = 'pending', cancel_reason = null, updated_at = ? where id = ?`, [before[0]!.updated_at, orderId]);
    await db.sql('update products set stock = ?, updated_at = ? where id = ?', [placedStock, before[0]!.updated_at, productId]);
    const fallback = vi.spyOn(PostgreSqlDriver.prototype, 'nativeUpdate');
    const sent = await updatesSentBy(() => reserveThenCancel(db.orm, productId, orderId));

    expect(sentByReference).toHaveLength(3); // the reservation; the order and the stock given back
    expect(sent).toEqual(sentByReference);
    expect(await rowsOf(productId, orderId)).toEqual(rowsByReference);
    // 3 reserved, the order's 2 given back.
    expect(rowsByReference.product[0]!.stock).toBe(placedStock - 1);
    expect(rowsByReference.order[0]).toMatchObject({ status: 'cancelled', cancel_reason: 'changed their mind; it’s "fine"' });
    // None of them took MikroORM's QueryBuilder path.
    expect(fallback).not.toHaveBeenCalled();
  });

  it('sends the same for JSON, boolean, double and null columns and a renamed primary key', async () => {
    const endpointId = newId();
    const runId = newId();
    const scheduleId = newId();
    const reset = async () => {
      await db.sql(`delete from webhook_endpoints where id = ?`, [endpointId]);
      await db.sql(`delete from schedule_runs where command_id = ?`, [runId]);
      await db.sql(
        `insert into webhook_endpoints (id, url, event_types, secret, previous_secret, enabled, created_at)
         values (?, 'http://127.0.0.1:1/hook', '["order.placed"]'::jsonb, 'enc:v1:a:b', 'enc:v1:a:old', true, now())`,
        [endpointId],
      );
      await db.sql(`insert into schedule_runs (command_id, schedule_id, due_at, created_at) values (?, ?, now(), now())`, [runId, scheduleId]);
    };
    const change = (orm: MikroORM) =>
      orm.em.fork().transactional(async (em) => {
        const endpoint = await em.findOneOrFail(WebhookEndpointSchema, endpointId);
        endpoint.eventTypes = ['order.placed', 'order.cancelled', 'it’s "quoted"; \\ too'];
        endpoint.enabled = false;
        endpoint.disabledReason = '410 Gone; it’s "over"';
        endpoint.disabledAt = NOW;
        endpoint.deliveryRate = 2.5;
        endpoint.previousSecret = null;
        (await em.findOneOrFail(ScheduleRunSchema, { commandId: runId })).dueAt = NOW;
      });
    const rows = async () => ({
      endpoint: await db.sql('select * from webhook_endpoints where id = ?', [endpointId]),
      run: await db.sql('select * from schedule_runs where command_id = ?', [runId]),
    });

    await reset();
    const sentByReference = await updatesSentBy(() => change(reference));
    const rowsByReference = await rows();
    await reset();
    const fallback = vi.spyOn(PostgreSqlDriver.prototype, 'nativeUpdate');
    const sent = await updatesSentBy(() => change(db.orm));

    expect(sentByReference).toHaveLength(2);
    expect(sent).toEqual(sentByReference);
    expect(fallback).not.toHaveBeenCalled();
    const after = await rows();
    expect({ ...after.endpoint[0], created_at: null }).toEqual({ ...rowsByReference.endpoint[0], created_at: null });
    expect(after.endpoint[0]).toMatchObject({ event_types: ['order.placed', 'order.cancelled', 'it’s "quoted"; \\ too'], enabled: false, previous_secret: null, delivery_rate: 2.5 });
    expect({ ...after.run[0], created_at: null }).toEqual({ ...rowsByReference.run[0], created_at: null });
  });

  it('answers with the row count MikroORM’s own driver answers', async () => {
    const productId = await addProductThrough(uow, 10);
    const update = (orm: MikroORM, id: string, name: string) => orm.em.fork().getDriver().nativeUpdate(ProductSchema, { id }, { name });
    const [mine, theirs] = [await update(db.orm, productId, 'Mine'), await update(reference, productId, 'Theirs')];
    expect(mine.affectedRows).toBe(1);
    expect(mine).toEqual(theirs);
    const [noneMine, noneTheirs] = [await update(db.orm, newId(), 'Nobody'), await update(reference, newId(), 'Nobody')];
    expect(noneMine.affectedRows).toBe(0);
    expect(noneMine).toEqual(noneTheirs);
  });

  it('leaves a condition beside the primary key (a raw guard) to MikroORM, which keeps it', async () => {
    const productId = await addProductThrough(uow, 10, { name: 'Guarded' });
    const fallback = vi.spyOn(PostgreSqlDriver.prototype, 'nativeUpdate');
    const changed = await db.orm.em
      .fork()
      .nativeUpdate(ProductSchema, { id: productId, [raw('stock >= ?', [1000])]: [] }, { name: 'Should not be written' });
    expect(changed).toBe(0);
    expect(fallback).toHaveBeenCalledTimes(1);
    expect(await db.sql('select name from products where id = ?', [productId])).toEqual([{ name: 'Guarded' }]);
  });

  it('leaves an update by anything but the primary key to MikroORM’s own path', async () => {
    const productId = await addProductThrough(uow, 10, { name: 'Old name' });
    const [{ sku }] = (await db.sql<{ sku: string }>('select sku from products where id = ?', [productId])) as [{ sku: string }];
    const fallback = vi.spyOn(PostgreSqlDriver.prototype, 'nativeUpdate');
    const changed = await db.orm.em.fork().nativeUpdate(ProductSchema, { sku }, { name: 'New name' });
    expect(changed).toBe(1);
    expect(fallback).toHaveBeenCalledTimes(1);
    expect(await db.sql('select name from products where id = ?', [productId])).toEqual([{ name: 'New name' }]);
  });
});
