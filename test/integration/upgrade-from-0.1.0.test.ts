// Upgrading in place: a database created, migrated and written by conveyor 0.1.0 (Node 20,
// MikroORM 6.6) keeps working under this release (MikroORM 7). The fixture is that release's
// own pg_dump, rows included; see the header of fixtures/database-migrated-by-0.1.0.sql.
import { readFileSync } from 'node:fs';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/application/clock.js';
import { ConfirmOrder } from '../../src/application/commerce/use-cases/confirm-order.js';
import { PlaceOrder } from '../../src/application/commerce/use-cases/place-order.js';
import { createOrm, migrate, type MikroORM } from '../../src/infrastructure/persistence/mikro-orm.js';
import { MikroOrmUnitOfWork } from '../../src/infrastructure/persistence/mikro-orm-unit-of-work.js';
import { adminQuery, withDatabase } from '../support/database.js';
import { newId } from '../support/orm.js';

const dump = readFileSync(new URL('./fixtures/database-migrated-by-0.1.0.sql', import.meta.url), 'utf8');
const USER = '01900000-0000-7000-8000-000000000001';
const PRODUCT = '01900000-0000-7000-8000-000000000002';
const CONFIRMED_ORDER = '01900000-0000-7000-8000-000000000003';
const PENDING_ORDER = '01900000-0000-7000-8000-000000000004';

const name = `conveyor_test_upgrade_${process.pid}_${Date.now()}`;
const url = withDatabase(name);
let orm: MikroORM;

/** The migrations added after conveyor 0.1.0, in the order they run. */
const ADDED_SINCE_0_1_0 = [
  'Migration20261201000000-webhook-running-attempt',
  'Migration20261202010521-scheduled-commands',
  'Migration20261202010709-schedules',
  'Migration20261202100000-webhook-endpoint-lifecycle',
  'Migration20261202110000-email-status-and-retention',
  'Migration20261202130000-command-triage',
  'Migration20261202140000-webhook-delivery-rate',
  'Migration20261202150000-webhook-secrets-at-rest',
  'Migration20261202160000-api-keys',
  'Migration20261204000000-pending-orders-index',
  'Migration20261205000000-schedule-runs-retention-index',
  'Migration20261205100000-scheduled-command-sender',
];

async function query<T>(sql: string, params: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(sql, params)).rows as T[];
  } finally {
    await client.end();
  }
}

beforeAll(async () => {
  await adminQuery(`create database ${name}`);
  await query(dump);
});
afterAll(async () => {
  await orm?.close(true);
  await adminQuery(`drop database if exists ${name} with (force)`);
});

describe('a database migrated by conveyor 0.1.0 (MikroORM 6)', () => {
  it('applies only the migrations added since, and its schema then matches the mapping exactly', async () => {
    expect(await migrate(url)).toEqual(ADDED_SINCE_0_1_0);
    orm = await createOrm({ databaseUrl: url, poolSize: 4 });
    expect(await orm.migrator.getPending()).toEqual([]);
    expect((await orm.migrator.getExecuted()).map((row) => row.name)).toEqual([
      'Migration20261122000718-initial',
      'Migration20261122001740-deliveries',
      'Migration20261122004956-outbox-trace-context',
      ...ADDED_SINCE_0_1_0,
    ]);
    // MikroORM 7 reads the old schema as its mapping would create it: no drift to migrate.
    expect((await orm.schema.getUpdateSchemaSQL({ wrap: false })).trim()).toBe('');
  });

  it('replays the outcomes the old release recorded instead of running those commands again', async () => {
    const uow = new MikroOrmUnitOfWork(orm);
    const placeOrder = new PlaceOrder(uow, systemClock);
    const replayed = await placeOrder.execute({
      commandId: '01900000-0000-7000-8000-0000000000a3',
      orderId: newId(),
      userId: USER,
      items: [{ productId: PRODUCT, quantity: 1 }],
    });
    expect(replayed).toEqual({ orderId: CONFIRMED_ORDER, total: { amount: '39.98', currency: 'EUR' } });
    await expect(
      placeOrder.execute({
        commandId: '01900000-0000-7000-8000-0000000000a6',
        orderId: newId(),
        userId: USER,
        items: [{ productId: PRODUCT, quantity: 1 }],
      }),
    ).rejects.toMatchObject({ code: 'insufficient_stock' });
    expect(await query('select stock from products where id = $1', [PRODUCT])).toEqual([{ stock: 7 }]);
  });

  it('loads and changes the aggregates the old release wrote', async () => {
    const uow = new MikroOrmUnitOfWork(orm);
    await new ConfirmOrder(uow, systemClock).execute({ commandId: newId(), orderId: PENDING_ORDER });
    await expect(
      new ConfirmOrder(uow, systemClock).execute({ commandId: newId(), orderId: CONFIRMED_ORDER }),
    ).rejects.toMatchObject({ code: 'invalid_transition' });
    const orderId = newId();
    const placed = await new PlaceOrder(uow, systemClock).execute({
      commandId: newId(),
      orderId,
      userId: USER,
      items: [{ productId: PRODUCT, quantity: 3 }],
    });
    expect(placed).toEqual({ orderId, total: { amount: '59.97', currency: 'EUR' } });

    expect(await query('select id, status from orders order by id')).toEqual([
      { id: CONFIRMED_ORDER, status: 'confirmed' },
      { id: PENDING_ORDER, status: 'confirmed' },
      { id: orderId, status: 'pending' },
    ]);
    expect(await query('select stock from products where id = $1', [PRODUCT])).toEqual([{ stock: 4 }]);
    const events = await query<{ type: string }>(
      `select type from outbox_messages where aggregate_id in ($1, $2) and command_id::text not like '01900000-%' order by id`,
      [PENDING_ORDER, orderId],
    );
    expect(events.map((event) => event.type)).toEqual(['order.confirmed', 'order.placed']);
  });
});
