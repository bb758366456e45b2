import { describe, expect, it } from 'vitest';
import { RestockProduct } from '../../../../src/application/commerce/use-cases/restock-product.js';
import { useCaseUnderTest } from '../../support/use-case.js';
import { domainRejectionOf } from '../../support/errors.js';
import { newId } from '../../support/ids.js';
import { seedProduct } from '../../support/seed.js';

describe('RestockProduct', () => {
  const t = useCaseUnderTest((uow, clock) => new RestockProduct(uow, clock));

  it('adds the units to the stored stock and answers with the new stock', async () => {
    const product = seedProduct(t.uow, { stock: 4 });

    const output = await t.useCase.execute({ commandId: newId(), productId: product.id, quantity: 6 });

    expect(output).toEqual({ productId: product.id, stock: 10 });
    expect(t.uow.storedProduct(product.id)?.stock).toBe(10);
  });

  it('writes one product.restocked outbox row', async () => {
    const product = seedProduct(t.uow, { stock: 4 });
    const commandId = newId();

    await t.useCase.execute({ commandId, productId: product.id, quantity: 6 });

    expect(t.uow.outbox).toEqual([
      t.outboxRow('product.restocked', product.id, commandId, { productId: product.id, quantity: 6, stock: 10 }),
    ]);
  });

  it('refuses an unknown product with product_not_found', async () => {
    const productId = newId();

    const error = await domainRejectionOf(t.useCase.execute({ commandId: newId(), productId, quantity: 1 }));

    expect(error.code).toBe('product_not_found');
    expect(t.uow.storedProducts()).toEqual([]);
    expect(t.uow.outbox).toEqual([]);
  });

  it.each([0, -3, 1.5, 1_000_001])('refuses a quantity of %s and leaves the stock alone', async (quantity) => {
    const product = seedProduct(t.uow, { stock: 4 });

    const error = await domainRejectionOf(
      t.useCase.execute({ commandId: newId(), productId: product.id, quantity }),
    );

    expect(error.code).toBe('invalid_value');
    expect(t.uow.storedProduct(product.id)?.stock).toBe(4);
    expect(t.uow.outbox).toEqual([]);
  });

  it('adds the units once when the same command is delivered twice', async () => {
    const product = seedProduct(t.uow, { stock: 4 });
    const cmd = { commandId: newId(), productId: product.id, quantity: 6 };

    const again = await t.executedTwice(cmd);

    expect(again).toEqual({ productId: product.id, stock: 10 });
    expect(t.uow.storedProduct(product.id)?.stock).toBe(10);
    expect(t.uow.outbox).toHaveLength(1);
  });

  it('adds the units for each distinct command', async () => {
    const product = seedProduct(t.uow, { stock: 0 });

    await t.useCase.execute({ commandId: newId(), productId: product.id, quantity: 2 });
    const second = await t.useCase.execute({ commandId: newId(), productId: product.id, quantity: 3 });

    expect(second.stock).toBe(5);
    expect(t.uow.outbox.map((row) => row.payload)).toEqual([
      { productId: product.id, quantity: 2, stock: 2 },
      { productId: product.id, quantity: 3, stock: 5 },
    ]);
  });

  it('keeps failing a command that failed on an unknown product', async () => {
    const cmd = { commandId: newId(), productId: newId(), quantity: 1 };
    await domainRejectionOf(t.useCase.execute(cmd));

    const again = await domainRejectionOf(t.useCase.execute(cmd));

    expect(again.code).toBe('product_not_found');
    expect(t.uow.executedWork).toBe(1);
  });
});
