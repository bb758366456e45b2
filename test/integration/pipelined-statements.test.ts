// Pipelined statements (ADR 0016): inside the unit of work's scope a transaction's writes are
// held and travel with its next statement. What must
// not change is what PostgreSQL ends up with and which error the caller sees; the round trips
// are counted at pg's own Client.query, which the pipelining client calls once per trip.
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { PlaceOrder } from '../../src/application/commerce/use-cases/place-order.js';
import { systemClock } from '../../src/application/clock.js';
import { MikroOrmUnitOfWork } from '../../src/infrastructure/persistence/mikro-orm-unit-of-work.js';
import { MikroORM, ormConfig } from '../../src/infrastructure/persistence/mikro-orm.js';
import { withPipelinedStatements } from '../../src/infrastructure/persistence/pipelined-statements.js';
import { mikroOrmRepositories } from '../../src/infrastructure/persistence/repositories.js';
import { addProductThrough, registerUserThrough } from '../support/commerce.js';
import { newId, ormOnFreshDatabase, type OrmFixture } from '../support/orm.js';
import { recordTrips } from '../support/trips.js';

let db: OrmFixture;

beforeAll(async () => {
  db = await ormOnFreshDatabase(4);
  await db.sql('create table pipelined_probe (id int primary key, note text not null)');
});
afterAll(() => db.close());
afterEach(async () => {
  vi.restoreAllMocks();
  await db.sql('delete from pipelined_probe');
});

const probeNotes = async () =>
  (await db.sql<{ id: number; note: string }>('select id, note from pipelined_probe order by id')).map((row) => `${row.id}:${row.note}`);

describe('pipelined statements', () => {
  it('holds a transaction’s writes and sends them with its next statement, in order, and commits them all', async () => {
    const trips = recordTrips();
    const seen = await withPipelinedStatements(() =>
      db.orm.em.fork().transactional(async (em) => {
        await em.execute(`insert into pipelined_probe (id, note) values (1, 'a')`);
        await em.execute(`update pipelined_probe set note = 'b' where id = 1`);
        await em.execute(`insert into pipelined_probe (id, note) values (2, 'c')`);
        return em.execute<{ n: string }[]>('select count(*) as n from pipelined_probe');
      }),
    );
    // The select saw the held writes: they ran before it, in the same transaction.
    expect(Number(seen[0]!.n)).toBe(2);
    // BEGIN and the three writes went with the select: one trip, then the COMMIT.
    expect(trips.count).toBe(2);
    expect(trips.texts[0]).toMatch(/^begin\n;\ninsert .*\n;\nupdate .*\n;\ninsert .*\n;\nselect count/s);
    expect(await probeNotes()).toEqual(['1:b', '2:c']);
  });

  it('reports a held write’s error at the transaction’s next statement, with PostgreSQL’s own code, and commits nothing', async () => {
    await db.sql(`insert into pipelined_probe (id, note) values (1, 'kept')`);
    const attempt = withPipelinedStatements(() =>
      db.orm.em.fork().transactional(async (em) => {
        await em.execute(`insert into pipelined_probe (id, note) values (2, 'new')`);
        // Held: it resolves, although it will violate the primary key.
        await em.execute(`insert into pipelined_probe (id, note) values (1, 'duplicate')`);
        await em.execute('select 1');
      }),
    );
    await expect(attempt).rejects.toMatchObject({ code: '23505', constraint: 'pipelined_probe_pkey' });
    expect(await probeNotes()).toEqual(['1:kept']);
  });

  it('reports a held write’s error at COMMIT when nothing follows it, and commits nothing', async () => {
    await db.sql(`insert into pipelined_probe (id, note) values (1, 'kept')`);
    const attempt = withPipelinedStatements(() =>
      db.orm.em.fork().transactional(async (em) => {
        await em.execute(`insert into pipelined_probe (id, note) values (2, 'new')`);
        await em.execute(`insert into pipelined_probe (id, note) values (1, 'duplicate')`);
      }),
    );
    await expect(attempt).rejects.toMatchObject({ code: '23505', constraint: 'pipelined_probe_pkey' });
    expect(await probeNotes()).toEqual(['1:kept']);
    // The connection is clean for the next transaction: nothing held is left on it.
    await withPipelinedStatements(() =>
      db.orm.em.fork().transactional((em) => em.execute(`insert into pipelined_probe (id, note) values (3, 'after')`)),
    );
    expect(await probeNotes()).toEqual(['1:kept', '3:after']);
  });

  it('drops the held writes of a transaction that rolls back: the ROLLBACK goes alone, even when a held write would have failed', async () => {
    await db.sql(`insert into pipelined_probe (id, note) values (1, 'kept')`);
    const trips = recordTrips();
    const attempt = withPipelinedStatements(() =>
      db.orm.em.fork().transactional(async (em) => {
        await em.execute(`insert into pipelined_probe (id, note) values (2, 'rolled back')`);
        await em.execute(`insert into pipelined_probe (id, note) values (1, 'would violate the key')`);
        throw new Error('the work failed');
      }),
    );
    await expect(attempt).rejects.toThrow('the work failed');
    // BEGIN and both inserts were held and never sent: one trip, the ROLLBACK.
    expect(trips.texts.map((text) => text.trim().toLowerCase())).toEqual(['rollback']);
    expect(await probeNotes()).toEqual(['1:kept']);
  });

  it('keeps what was held before a savepoint when the nested transaction rolls back, and drops what came after', async () => {
    await withPipelinedStatements(() =>
      db.orm.em.fork().transactional(async (em) => {
        await em.execute(`insert into pipelined_probe (id, note) values (1, 'before the savepoint')`);
        await em
          .transactional(async (nested) => {
            await nested.execute(`insert into pipelined_probe (id, note) values (2, 'inside, rolled back')`);
            throw new Error('the nested work failed');
          })
          .catch(() => undefined);
        await em.execute(`insert into pipelined_probe (id, note) values (3, 'after the savepoint')`);
      }),
    );
    expect(await probeNotes()).toEqual(['1:before the savepoint', '3:after the savepoint']);
  });

  it('sends a use case’s reads asked together as one trip, each with its own rows, and rejects them all when one fails', async () => {
    const uow = new MikroOrmUnitOfWork(db.orm);
    const userId = await registerUserThrough(uow, {});
    const productId = await addProductThrough(uow, 7, { amount: '1.00' });
    const trips = recordTrips();
    const [user, products] = await withPipelinedStatements(() =>
      db.orm.em.fork().transactional((em) => {
        const repos = mikroOrmRepositories(em, new Set());
        return Promise.all([repos.users.findById(userId), repos.products.findManyForUpdate([productId])]);
      }),
    );
    expect(user?.id).toBe(userId);
    expect([...products.values()].map((product) => [product.id, product.stock])).toEqual([[productId, 7]]);
    expect(trips.count).toBe(2); // BEGIN with both reads, then COMMIT

    const failing = withPipelinedStatements(() =>
      db.orm.em.fork().transactional((em) => {
        const repos = mikroOrmRepositories(em, new Set());
        return Promise.all([repos.users.findById(userId), repos.orders.findByIdForUpdate('not a uuid')]);
      }),
    );
    await expect(failing).rejects.toMatchObject({ code: '22P02' });

    // Each read sent in the failing trip is rejected with that error, not only the first.
    const settled = await withPipelinedStatements(() =>
      db.orm.em
        .fork()
        .transactional((em) => {
          const repos = mikroOrmRepositories(em, new Set());
          return Promise.allSettled([repos.users.findById(userId), repos.orders.findByIdForUpdate('not a uuid')]);
        })
        .catch(() => undefined),
    );
    expect(settled?.map((outcome) => outcome.status)).toEqual(['rejected', 'rejected']);
  });

  it('does not pipeline on an ORM whose pool is not made of pipelining clients, and gets the same outcome', async () => {
    const plainOrm = await MikroORM.init({ ...ormConfig({ databaseUrl: db.url, poolSize: 2 }), driverOptions: {} });
    try {
      const uow = new MikroOrmUnitOfWork(plainOrm);
      const userId = await registerUserThrough(uow, {});
      const productId = await addProductThrough(uow, 4, { amount: '1.00' });
      const trips = recordTrips();
      const orderId = newId();
      await expect(new PlaceOrder(uow, systemClock).execute({ commandId: newId(), orderId, userId, items: [{ productId, quantity: 1 }] })).resolves.toMatchObject({ orderId });
      expect(trips.count).toBe(8);
      await expect(new PlaceOrder(uow, systemClock).execute({ commandId: newId(), orderId: newId(), userId: newId(), items: [{ productId, quantity: 1 }] })).rejects.toMatchObject({ code: 'user_not_found' });
    } finally {
      await plainOrm.close(true);
    }
  });

  it('sends every statement on its own with pipelining off, with the same outcome', async () => {
    const uow = new MikroOrmUnitOfWork(db.orm, undefined, { pipelined: false });
    const userId = await registerUserThrough(uow, {});
    const productId = await addProductThrough(uow, 5, { amount: '1.00' });
    const trips = recordTrips();
    const orderId = newId();
    await expect(new PlaceOrder(uow, systemClock).execute({ commandId: newId(), orderId, userId, items: [{ productId, quantity: 2 }] })).resolves.toEqual({
      orderId,
      total: { amount: '2.00', currency: 'EUR' },
    });
    // BEGIN, outcome, user, products, order, stock, bookkeeping, COMMIT.
    expect(trips.count).toBe(8);
    const [product] = await db.sql<{ stock: number }>('select stock from products where id = ?', [productId]);
    expect(product?.stock).toBe(3);
  });

  it('holds nothing outside its scope: a write is sent at once and reports its row count', async () => {
    const trips = recordTrips();
    const result = await db.orm.em
      .fork()
      .transactional((em) => em.execute(`insert into pipelined_probe (id, note) values (1, 'a'), (2, 'b')`, [], 'run'));
    expect(result).toMatchObject({ affectedRows: 2 });
    expect(trips.count).toBe(3); // BEGIN, the insert, COMMIT
  });

  it('places a group of orders in two trips, the group\'s rows read ahead with the outcome read, with the same stock and rows as before', async () => {
    const batches: number[] = [];
    const uow = new MikroOrmUnitOfWork(db.orm, undefined, { maxBatch: 16, maxConcurrentBatches: 1, onBatch: (size) => batches.push(size) });
    const userId = await registerUserThrough(uow, {});
    const productId = await addProductThrough(uow, 100, { amount: '2.00' });
    batches.length = 0;
    const place = new PlaceOrder(uow, systemClock);
    const trips = recordTrips();
    // A first order keeps the one transaction allowed busy, so the next ten form one group.
    const first = place.execute({ commandId: newId(), orderId: newId(), userId, items: [{ productId, quantity: 1 }] });
    const group = Array.from({ length: 10 }, () =>
      place.execute({ commandId: newId(), orderId: newId(), userId, items: [{ productId, quantity: 2 }] }),
    );
    await Promise.all([first, ...group]);
    expect(batches).toEqual([1, 10]);
    // The lone first order: BEGIN with the outcome read and its two reads, then its flush with
    // the bookkeeping and the COMMIT. The group of ten (ADR 0005, read-ahead): BEGIN with its
    // product locked and read, its user read and the outcome read, then every order's flush with
    // the bookkeeping and the COMMIT. Sent one statement at a time, the same work took 8 + 44
    // trips; before the read-ahead, 2 + 11.
    expect(trips.count).toBe(2 + 2);
    expect(trips.texts[0]).toMatch(/^begin\n;\n.*processed_commands.*\n;\nselect \* from users .*\n;\nselect \* from products /s);
    expect(trips.texts[2]).toMatch(
      /^begin\n;\n\/\* results \*\/ select \* from products where id in \(select .*\) order by id for update\n;\nselect \* from users .*\n;\nselect command_id.* from processed_commands/s,
    );
    // The second: the ten orders' flushes (an order insert and a stock update each), the
    // bookkeeping and the COMMIT.
    const last = trips.texts[3] ?? '';
    expect(last.split('\n;\n').map((statement) => /^(insert into "orders"|update "products"|\/\* held \*\/ with outbox|commit)/.exec(statement)?.[1])).toEqual([
      ...Array.from({ length: 10 }, () => ['insert into "orders"', 'update "products"']).flat(),
      '/* held */ with outbox',
      'commit',
    ]);
    const [product] = await db.sql<{ stock: number }>('select stock from products where id = ?', [productId]);
    expect(product?.stock).toBe(100 - 1 - 20);
    const [counts] = await db.sql<{ orders: string; events: string; processed: string }>(
      `select (select count(*) from orders where user_id = ?) as orders,
              (select count(*) from outbox_messages where type = 'order.placed'
                  and aggregate_id in (select id from orders where user_id = ?)) as events,
              (select count(*) from processed_commands where status = 'succeeded'
                  and (result->>'orderId')::uuid in (select id from orders where user_id = ?)) as processed`,
      [userId, userId, userId],
    );
    expect(counts).toEqual({ orders: '11', events: '11', processed: '11' });
  });

  it('places a group of orders of several lines in two trips too: every product’s stock update is held', async () => {
    const uow = new MikroOrmUnitOfWork(db.orm, undefined, { maxBatch: 16, maxConcurrentBatches: 1 });
    const userId = await registerUserThrough(uow, {});
    const productIds = [await addProductThrough(uow, 50), await addProductThrough(uow, 50), await addProductThrough(uow, 50)];
    const place = new PlaceOrder(uow, systemClock);
    const items = productIds.map((productId, index) => ({ productId, quantity: index + 1 }));
    const trips = recordTrips();
    const first = place.execute({ commandId: newId(), orderId: newId(), userId, items });
    const group = Array.from({ length: 5 }, () => place.execute({ commandId: newId(), orderId: newId(), userId, items }));
    await Promise.all([first, ...group]);
    // As above: 2 trips for the first order's transaction, then 2 for the group's. A batched
    // UPDATE of the three products (MikroORM adds `returning id` to it) took one more per order.
    expect(trips.count).toBe(2 + 2);
    expect(trips.texts.filter((text) => /\breturning\b/i.test(text))).toEqual([]);
    // The group's products are locked and read ahead, in order (ADR 0005), in its first trip,
    // in front of the outcome read. The lone first order's transaction needs no such lock: its
    // own read is one statement.
    expect(trips.texts.filter((text) => text.includes('select * from products where id in (select'))).toEqual([
      expect.stringMatching(/^begin\n;\n\/\* results \*\/ select \* from products where id in \(select .*\) order by id for update\n;\nselect \* from users .*\n;\nselect command_id/s),
    ]);
    const stock = await db.sql<{ stock: number }>('select stock from products where id in (?, ?, ?) order by id', productIds);
    expect(stock.map((row) => row.stock)).toEqual([50 - 6, 50 - 12, 50 - 18]);
  });
});
