import { describe, expect, it } from 'vitest';
import type { Repositories } from '../../../src/application/commerce/ports/repositories.js';
import {
  DuplicateIdError,
  EmailTakenError,
  Money,
  Product,
  Quantity,
  RecordedFailureError,
  SkuTakenError,
  User,
} from '../../../src/domain/index.js';
import { domainRejectionOf } from '../support/errors.js';
import { newId } from '../support/ids.js';
import { seedProduct, seedUser } from '../support/seed.js';
import { InMemoryUnitOfWork } from './in-memory-unit-of-work.js';

// The fake stands in for the PostgreSQL unit of work in every use-case test, so its contract is
// checked here: a fake that silently commits on failure would make those tests worthless.

const now = new Date('2025-03-14T09:26:53.000Z');

function command(commandType = 'Test'): { commandId: string; commandType: string } {
  return { commandId: newId(), commandType };
}

function newUser(email: string): User {
  return User.register({ id: newId(), email, name: 'Ann', now });
}

function newProduct(sku: string): Product {
  return Product.add({ id: newId(), sku, name: 'Mug', price: Money.parse('1.00', 'EUR'), stock: 1, now });
}

describe('InMemoryUnitOfWork', () => {
  it('commits the changes of a successful run, with the events as outbox rows', async () => {
    const uow = new InMemoryUnitOfWork();
    const product = seedProduct(uow, { stock: 1 });
    const cmd = command('Restock');

    const result = await uow.run(cmd, async ({ products }) => {
      const loaded = (await products.findManyForUpdate([product.id])).get(product.id);
      loaded?.restock(Quantity.of(4), now);
      return { stock: loaded?.stock ?? null };
    });

    expect(result).toEqual({ stock: 5 });
    expect(uow.storedProduct(product.id)?.stock).toBe(5);
    expect(uow.outbox).toEqual([
      expect.objectContaining({ type: 'product.restocked', aggregateId: product.id, commandId: cmd.commandId }),
    ]);
    expect(uow.processed(cmd.commandId)).toEqual({ commandType: 'Restock', status: 'succeeded', result: { stock: 5 } });
  });

  it('rolls back everything when the work throws, and records no outcome for a non-domain error', async () => {
    const uow = new InMemoryUnitOfWork();
    const product = seedProduct(uow, { stock: 1 });
    const user = newUser('ann@example.com');
    const cmd = command();

    await expect(
      uow.run(cmd, async ({ products, users }) => {
        users.add(user);
        (await products.findManyForUpdate([product.id])).get(product.id)?.restock(Quantity.of(4), now);
        throw new Error('connection lost');
      }),
    ).rejects.toThrow('connection lost');

    expect(uow.storedProduct(product.id)?.stock).toBe(1);
    expect(uow.storedUser(user.id)).toBeUndefined();
    expect(uow.outbox).toEqual([]);
    expect(uow.processed(cmd.commandId)).toBeUndefined();

    // Not recorded, so a retry with the same command id runs the work.
    await uow.run(cmd, async ({ users }) => {
      users.add(newUser('ann@example.com'));
      return null;
    });
    expect(uow.storedUsers()).toHaveLength(1);
  });

  it('rolls back when the commit itself fails', async () => {
    const uow = new InMemoryUnitOfWork();
    const cmd = command();
    uow.failNextCommitWith(new Error('serialization failure'));

    await expect(
      uow.run(cmd, async ({ users }) => {
        users.add(newUser('ann@example.com'));
        return null;
      }),
    ).rejects.toThrow('serialization failure');

    expect(uow.storedUsers()).toEqual([]);
    expect(uow.outbox).toEqual([]);
    expect(uow.processed(cmd.commandId)).toBeUndefined();
  });

  it('returns the first result for a processed command id without running the work again', async () => {
    const uow = new InMemoryUnitOfWork();
    const cmd = command();
    let runs = 0;
    const work = async (): Promise<{ run: number }> => {
      runs += 1;
      return { run: runs };
    };

    const first = await uow.run(cmd, work);
    const second = await uow.run(cmd, work);

    expect(first).toEqual({ run: 1 });
    expect(second).toEqual({ run: 1 });
    expect(runs).toBe(1);
    expect(uow.executedWork).toBe(1);
  });

  it('records a domain failure and throws it again as RecordedFailureError without running the work', async () => {
    const uow = new InMemoryUnitOfWork();
    const cmd = command('Register');
    seedUser(uow, 'ann@example.com');
    let runs = 0;
    const work = async ({ users }: Repositories): Promise<null> => {
      runs += 1;
      users.add(newUser('ann@example.com'));
      return null;
    };

    const first = await domainRejectionOf(uow.run(cmd, work));
    const second = await domainRejectionOf(uow.run(cmd, work));

    expect(first).toBeInstanceOf(EmailTakenError);
    expect(second).toBeInstanceOf(RecordedFailureError);
    expect(second.code).toBe('email_taken');
    expect(second.message).toBe(first.message);
    expect(runs).toBe(1);
    expect(uow.processed(cmd.commandId)).toEqual({
      commandType: 'Register',
      status: 'failed',
      error: { code: 'email_taken', message: first.message },
    });
  });

  /**
   * Two runs that each add through `add`: one a key that is `taken` already, one the same new key
   * twice. Both are refused with `error`.
   */
  async function expectTakenKeysRefused<K>(
    uow: InMemoryUnitOfWork,
    add: (repos: Repositories, key: K) => void,
    [taken, twice]: [K, K],
    error: abstract new (...args: never[]) => Error,
  ): Promise<void> {
    const refusal = (work: (repos: Repositories) => void) =>
      domainRejectionOf(
        uow.run(command(), async (repos) => {
          work(repos);
          return null;
        }),
      );
    const committed = await refusal((repos) => add(repos, taken));
    const sameRun = await refusal((repos) => {
      add(repos, twice);
      add(repos, twice);
    });
    expect(committed).toBeInstanceOf(error);
    expect(sameRun).toBeInstanceOf(error);
  }

  it('refuses a taken email, whether committed or added in the same run', async () => {
    const uow = new InMemoryUnitOfWork();
    seedUser(uow, 'ann@example.com');

    await expectTakenKeysRefused(uow, ({ users }, email: string) => users.add(newUser(email)), ['ANN@example.com', 'bob@example.com'], EmailTakenError);

    expect(uow.storedUsers().map((user) => user.email)).toEqual(['ann@example.com']);
  });

  it('refuses a taken sku, whether committed or added in the same run', async () => {
    const uow = new InMemoryUnitOfWork();
    seedProduct(uow, { sku: 'MUG' });

    await expectTakenKeysRefused(uow, ({ products }, sku: string) => products.add(newProduct(sku)), ['MUG', 'CUP'], SkuTakenError);

    expect(uow.storedProducts().map((product) => product.sku)).toEqual(['MUG']);
  });

  it('refuses an id that is taken', async () => {
    const uow = new InMemoryUnitOfWork();
    const user = seedUser(uow, 'ann@example.com');
    const twin = User.register({ id: user.id, email: 'bob@example.com', name: 'Bob', now });

    const error = await domainRejectionOf(
      uow.run(command(), async ({ users }) => {
        users.add(twin);
        return null;
      }),
    );

    expect(error).toBeInstanceOf(DuplicateIdError);
    expect(uow.storedUser(user.id)?.email).toBe('ann@example.com');
  });

  it('loads the same object for the same id within a run and skips unknown ids', async () => {
    const uow = new InMemoryUnitOfWork();
    const product = seedProduct(uow);
    const unknown = newId();

    const same = await uow.run(command(), async ({ products }) => {
      const first = await products.findManyForUpdate([product.id, unknown]);
      const second = await products.findManyForUpdate([product.id]);
      expect([...first.keys()]).toEqual([product.id]);
      return first.get(product.id) === second.get(product.id);
    });

    expect(same).toBe(true);
  });

  it('shares no object between the store and a run', async () => {
    const uow = new InMemoryUnitOfWork();
    const product = seedProduct(uow, { stock: 3 });
    product.reserve(Quantity.of(3), now);
    let leaked: Product | undefined;

    await uow.run(command(), async ({ products }) => {
      leaked = (await products.findManyForUpdate([product.id])).get(product.id);
      return null;
    });
    leaked?.reserve(Quantity.of(1), now);
    uow.storedProduct(product.id)?.reserve(Quantity.of(1), now);

    expect(uow.storedProduct(product.id)?.stock).toBe(3);
  });

  it('runs one transaction at a time', async () => {
    const uow = new InMemoryUnitOfWork();
    const product = seedProduct(uow, { stock: 0 });
    const restock = (): Promise<number> =>
      uow.run(command(), async ({ products }) => {
        const loaded = (await products.findManyForUpdate([product.id])).get(product.id);
        await new Promise((resolve) => setTimeout(resolve, 1));
        loaded?.restock(Quantity.of(1), now);
        return loaded?.stock ?? -1;
      });

    const results = await Promise.all([restock(), restock(), restock()]);

    expect(results).toEqual([1, 2, 3]);
    expect(uow.storedProduct(product.id)?.stock).toBe(3);
  });
});
