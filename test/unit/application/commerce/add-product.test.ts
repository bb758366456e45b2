import { describe, expect, it } from 'vitest';
import { AddProduct, type AddProductInput } from '../../../../src/application/commerce/use-cases/add-product.js';
import { useCaseUnderTest } from '../../support/use-case.js';
import { domainRejectionOf } from '../../support/errors.js';
import { newId } from '../../support/ids.js';
import { seedProduct } from '../../support/seed.js';

describe('AddProduct', () => {
  const t = useCaseUnderTest((uow, clock) => new AddProduct(uow, clock));

  function input(override: Partial<AddProductInput> = {}): AddProductInput {
    return {
      commandId: newId(),
      productId: newId(),
      sku: 'MUG-RED-01',
      name: 'Red mug',
      price: { amount: '12.50', currency: 'EUR' },
      stock: 10,
      ...override,
    };
  }

  it('stores the product with its exact price and stock and answers with its id', async () => {
    const cmd = input({ name: '  Red mug ', price: { amount: '0.5', currency: 'EUR' }, stock: 7 });

    const output = await t.useCase.execute(cmd);

    expect(output).toEqual({ productId: cmd.productId });
    const stored = t.uow.storedProduct(cmd.productId);
    expect(stored).toMatchObject({ id: cmd.productId, sku: 'MUG-RED-01', name: 'Red mug', stock: 7 });
    expect(stored?.price.minor).toBe(50);
    expect(stored?.price.toJSON()).toEqual({ amount: '0.50', currency: 'EUR' });
    expect(stored?.createdAt).toEqual(t.clock.now());
  });

  it('writes one product.added outbox row', async () => {
    const cmd = input({ price: { amount: '12.5', currency: 'EUR' } });

    await t.useCase.execute(cmd);

    expect(t.uow.outbox).toEqual([
      t.outboxRow('product.added', cmd.productId, cmd.commandId, {
        productId: cmd.productId,
        sku: 'MUG-RED-01',
        name: 'Red mug',
        price: { amount: '12.50', currency: 'EUR' },
        stock: 10,
      }),
    ]);
  });

  it('accepts a currency without minor units', async () => {
    const cmd = input({ price: { amount: '1500', currency: 'JPY' } });

    await t.useCase.execute(cmd);

    expect(t.uow.storedProduct(cmd.productId)?.price.toJSON()).toEqual({ amount: '1500', currency: 'JPY' });
  });

  it('refuses a sku that is taken', async () => {
    const existing = seedProduct(t.uow, { sku: 'MUG-RED-01', stock: 3 });
    const cmd = input({ sku: 'MUG-RED-01', stock: 99 });

    await t.refusal(cmd, 'sku_taken');
    expect(t.uow.storedProduct(cmd.productId)).toBeUndefined();
    expect(t.uow.storedProduct(existing.id)?.stock).toBe(3);
  });

  it.each<[Partial<AddProductInput>, string]>([
    [{ price: { amount: '12.505', currency: 'EUR' } }, 'more decimals than EUR has'],
    [{ price: { amount: '1.5', currency: 'JPY' } }, 'decimals for JPY'],
    [{ price: { amount: '-1', currency: 'EUR' } }, 'a negative price'],
    [{ price: { amount: '1e3', currency: 'EUR' } }, 'exponent notation'],
    [{ price: { amount: '12.50', currency: 'XYZ' } }, 'an unknown currency'],
    [{ price: { amount: '12.50', currency: 'eur' } }, 'a lower-case currency'],
    [{ stock: -1 }, 'a negative stock'],
    [{ stock: 2.5 }, 'a fractional stock'],
    [{ sku: 'has space' }, 'an invalid sku'],
    [{ name: '' }, 'an empty name'],
    [{ productId: 'nope' }, 'a malformed product id'],
  ])('refuses %j (%s) with invalid_value and stores nothing', async (override) => {
    await t.refusal(input(override), 'invalid_value');
    expect(t.uow.storedProducts()).toEqual([]);
  });

  it('applies a redelivered command once and answers the same', async () => {
    const cmd = input();

    await t.executedTwice(cmd);

    expect(t.uow.storedProducts()).toHaveLength(1);
    expect(t.uow.outbox).toHaveLength(1);
  });

  it('fails a redelivered sku_taken command with the same code', async () => {
    seedProduct(t.uow, { sku: 'MUG-RED-01' });
    const cmd = input({ sku: 'MUG-RED-01' });
    await domainRejectionOf(t.useCase.execute(cmd));

    const again = await domainRejectionOf(t.useCase.execute(cmd));

    expect(again.code).toBe('sku_taken');
    expect(t.uow.executedWork).toBe(1);
  });
});
