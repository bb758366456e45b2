import { describe, expect, it } from 'vitest';
import {
  InsufficientStockError,
  InvalidValueError,
  MAX_QUANTITY,
  Money,
  Product,
  Quantity,
} from '../../../src/domain/index.js';
import { domainErrorOf } from '../support/errors.js';
import { newId } from '../support/ids.js';

const now = new Date('2025-03-14T09:26:53.000Z');
const later = new Date('2025-03-15T10:00:00.000Z');

function addProduct(override: Partial<Parameters<typeof Product.add>[0]> = {}): Product {
  return Product.add({
    id: newId(),
    sku: 'MUG-RED-01',
    name: 'Red mug',
    price: Money.parse('12.50', 'EUR'),
    stock: 10,
    now,
    ...override,
  });
}

/** A product with its `product.added` event already drained. */
function productWithStock(stock: number): Product {
  const product = addProduct({ stock });
  product.pullEvents();
  return product;
}

describe('Product.add', () => {
  it('keeps sku, trimmed name, exact price, stock and creation time', () => {
    const id = newId();

    const product = addProduct({ id, name: '  Red mug ', price: Money.parse('0.5', 'EUR'), stock: 3 });

    expect(product.id).toBe(id);
    expect(product.sku).toBe('MUG-RED-01');
    expect(product.name).toBe('Red mug');
    expect(product.price.equals(Money.ofMinor(50, 'EUR'))).toBe(true);
    expect(product.stock).toBe(3);
    expect(product.createdAt).toEqual(now);
  });

  it('records product.added with the price as a decimal string', () => {
    const id = newId();

    const product = addProduct({ id, price: Money.parse('12.5', 'EUR'), stock: 7 });

    expect(product.pullEvents()).toEqual([
      {
        type: 'product.added',
        aggregateType: 'product',
        aggregateId: id,
        occurredAt: now,
        payload: {
          productId: id,
          sku: 'MUG-RED-01',
          name: 'Red mug',
          price: { amount: '12.50', currency: 'EUR' },
          stock: 7,
        },
      },
    ]);
  });

  it.each(['A', '0', 'abc-1_2.3', 'SKU.with.dots', `A${'b'.repeat(63)}`])('accepts the sku "%s"', (sku) => {
    expect(addProduct({ sku }).sku).toBe(sku);
  });

  it.each([
    ['', 'empty'],
    ['-abc', 'starts with a dash'],
    ['.abc', 'starts with a dot'],
    ['_abc', 'starts with an underscore'],
    ['a b', 'contains a space'],
    [' abc', 'leading space'],
    ['a/b', 'contains a slash'],
    ['ärger', 'non-ASCII'],
    [`A${'b'.repeat(64)}`, '65 characters'],
  ])('refuses the sku "%s" (%s)', (sku) => {
    const error = domainErrorOf(() => addProduct({ sku }));

    expect(error).toBeInstanceOf(InvalidValueError);
    expect(error.code).toBe('invalid_value');
  });

  it.each([0, 1, MAX_QUANTITY])('accepts an initial stock of %i', (stock) => {
    expect(addProduct({ stock }).stock).toBe(stock);
  });

  it.each([-1, 1.5, MAX_QUANTITY + 1, Number.NaN])('refuses an initial stock of %s', (stock) => {
    expect(domainErrorOf(() => addProduct({ stock })).code).toBe('invalid_value');
  });

  it.each<[Partial<Parameters<typeof Product.add>[0]>, string]>([
    [{ id: 'nope' }, 'a malformed id'],
    [{ name: '   ' }, 'a blank name'],
    [{ name: 'n'.repeat(201) }, 'a name over 200 characters'],
  ])('refuses %j (%s)', (override) => {
    expect(domainErrorOf(() => addProduct(override)).code).toBe('invalid_value');
  });

  it('accepts a price of zero', () => {
    expect(addProduct({ price: Money.zero('EUR') }).price.minor).toBe(0);
  });
});

describe('Product.restock', () => {
  it('adds the units and records product.restocked with the new stock', () => {
    const product = productWithStock(4);

    product.restock(Quantity.of(6), later);

    expect(product.stock).toBe(10);
    expect(product.pullEvents()).toEqual([
      {
        type: 'product.restocked',
        aggregateType: 'product',
        aggregateId: product.id,
        occurredAt: later,
        payload: { productId: product.id, quantity: 6, stock: 10 },
      },
    ]);
  });

  it('records one event per restock', () => {
    const product = productWithStock(0);

    product.restock(Quantity.of(1), now);
    product.restock(Quantity.of(2), later);

    expect(product.stock).toBe(3);
    expect(product.pullEvents().map((event) => event.payload)).toEqual([
      { productId: product.id, quantity: 1, stock: 1 },
      { productId: product.id, quantity: 2, stock: 3 },
    ]);
  });
});

describe('Product.reserve', () => {
  it('takes the units out of stock without recording an event', () => {
    const product = productWithStock(10);

    product.reserve(Quantity.of(3), later);

    expect(product.stock).toBe(7);
    expect(product.pullEvents()).toEqual([]);
  });

  it('may take the last unit', () => {
    const product = productWithStock(3);

    product.reserve(Quantity.of(3), later);

    expect(product.stock).toBe(0);
  });

  it('refuses to go below zero and leaves the stock as it was', () => {
    const product = productWithStock(2);

    const error = domainErrorOf(() => product.reserve(Quantity.of(3), later));

    expect(error).toBeInstanceOf(InsufficientStockError);
    expect(error.code).toBe('insufficient_stock');
    expect(error).toMatchObject({ productId: product.id, requested: 3, available: 2 });
    expect(product.stock).toBe(2);
  });

  it('refuses anything when the stock is zero', () => {
    const product = productWithStock(0);

    expect(domainErrorOf(() => product.reserve(Quantity.of(1), later)).code).toBe('insufficient_stock');
    expect(product.stock).toBe(0);
  });

  it('refuses once successive reservations have used the stock up', () => {
    const product = productWithStock(5);

    product.reserve(Quantity.of(2), later);
    product.reserve(Quantity.of(3), later);

    expect(domainErrorOf(() => product.reserve(Quantity.of(1), later)).code).toBe('insufficient_stock');
    expect(product.stock).toBe(0);
  });
});

describe('Product.release', () => {
  it('puts units back into stock without recording an event', () => {
    const product = productWithStock(10);
    product.reserve(Quantity.of(4), later);

    product.release(Quantity.of(4), later);

    expect(product.stock).toBe(10);
    expect(product.pullEvents()).toEqual([]);
  });
});
