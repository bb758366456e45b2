import { describe, expect, it } from 'vitest';
import {
  CurrencyMismatchError,
  DomainError,
  InsufficientStockError,
  InvalidTransitionError,
  InvalidValueError,
  MAX_ORDER_LINES,
  MAX_QUANTITY,
  MAX_REASON_LENGTH,
  EXPIRY_REASON,
  Money,
  NotFoundError,
  ORDER_STATUSES,
  Order,
  Product,
  type OrderStatus,
} from '../../../src/domain/index.js';
import { domainErrorOf } from '../support/errors.js';
import { newId } from '../support/ids.js';
import { twoRedMugsPlaced } from '../support/orders.js';

const placedAt = new Date('2025-03-14T09:26:53.000Z');
const later = new Date('2025-03-14T11:00:00.000Z');

let skuCounter = 0;

/** A product as loaded from the store: its `product.added` event is long gone. */
function product(options: { price?: string; currency?: string; stock?: number; name?: string } = {}): Product {
  skuCounter += 1;
  const created = Product.add({
    id: newId(),
    sku: `SKU-${skuCounter}`,
    name: options.name ?? `Product ${skuCounter}`,
    price: Money.parse(options.price ?? '12.50', options.currency ?? 'EUR'),
    stock: options.stock ?? 10,
    now: placedAt,
  });
  created.pullEvents();
  return created;
}

function catalogue(...products: Product[]): Map<string, Product> {
  return new Map(products.map((p) => [p.id, p]));
}

function place(
  lines: { product: Product; quantity: number }[],
  options: { products?: Map<string, Product>; id?: string; userId?: string } = {},
): Order {
  return Order.place({
    id: options.id ?? newId(),
    userId: options.userId ?? newId(),
    lines: lines.map((line) => ({ productId: line.product.id, quantity: line.quantity })),
    products: options.products ?? catalogue(...lines.map((line) => line.product)),
    now: placedAt,
  });
}

/** Places `lines`, expects a `type` DomainError with `code`, and answers it. */
function refusedPlacing(lines: Parameters<typeof place>[0], type: new (...args: never[]) => DomainError, code: string): DomainError {
  const error = domainErrorOf(() => place(lines));
  expect(error).toBeInstanceOf(type);
  expect(error.code).toBe(code);
  return error;
}

/** Expects `order` to have recorded one event since it was drained: order.cancelled at `later`, with `reason`. */
function expectOneCancelledEvent(order: Order, reason: string): void {
  const events = order.pullEvents();
  expect(events).toHaveLength(1);
  expect(events[0]).toMatchObject({ type: 'order.cancelled', occurredAt: later, payload: { orderId: order.id, status: 'cancelled', reason } });
}

describe('Order.place', () => {
  it('captures every line with its unit price, sums the total and starts pending', () => {
    const mug = product({ price: '12.50', name: 'Red mug' });
    const plate = product({ price: '3.20', name: 'Plate' });
    const id = newId();
    const userId = newId();

    const order = place(
      [
        { product: mug, quantity: 2 },
        { product: plate, quantity: 3 },
      ],
      { id, userId },
    );

    expect(order.id).toBe(id);
    expect(order.userId).toBe(userId);
    expect(order.status).toBe('pending');
    expect(order.placedAt).toEqual(placedAt);
    expect(order.cancellationReason).toBeNull();
    expect(order.items).toEqual([
      { productId: mug.id, sku: mug.sku, name: 'Red mug', quantity: 2, unitPriceMinor: 1250 },
      { productId: plate.id, sku: plate.sku, name: 'Plate', quantity: 3, unitPriceMinor: 320 },
    ]);
    expect(order.currency).toBe('EUR');
    expect(order.total.toJSON()).toEqual({ amount: '34.60', currency: 'EUR' });
  });

  it('reserves the ordered units of every product', () => {
    const mug = product({ stock: 10 });
    const plate = product({ stock: 5 });

    place([
      { product: mug, quantity: 2 },
      { product: plate, quantity: 3 },
    ]);

    expect(mug.stock).toBe(8);
    expect(plate.stock).toBe(2);
  });

  it('may take the last units of a product', () => {
    const mug = product({ stock: 3 });

    place([{ product: mug, quantity: 3 }]);

    expect(mug.stock).toBe(0);
  });

  it('computes the total exactly (no float drift)', () => {
    const a = product({ price: '0.10' });
    const b = product({ price: '0.20' });

    const order = place([
      { product: a, quantity: 3 },
      { product: b, quantity: 1 },
    ]);

    expect(order.total.minor).toBe(50);
    expect(order.total.toDecimalString()).toBe('0.50');
  });

  it('works in a currency without minor units', () => {
    const tea = product({ price: '1500', currency: 'JPY' });

    const order = place([{ product: tea, quantity: 2 }]);

    expect(order.total.toJSON()).toEqual({ amount: '3000', currency: 'JPY' });
  });

  it('records order.placed with the whole order as JSON-ready payload', () => {
    const mug = product({ price: '12.50', name: 'Red mug' });
    const id = newId();
    const userId = newId();

    const order = place([{ product: mug, quantity: 2 }], { id, userId });

    expect(order.pullEvents()).toEqual([
      {
        type: 'order.placed',
        aggregateType: 'order',
        aggregateId: id,
        occurredAt: placedAt,
        payload: twoRedMugsPlaced(id, userId, mug),
      },
    ]);
  });

  it('records nothing on the products it reserves from', () => {
    const mug = product();

    place([{ product: mug, quantity: 1 }]);

    expect(mug.pullEvents()).toEqual([]);
  });

  it('fails as a whole when a later line cannot be served', () => {
    const mug = product({ stock: 10 });
    const plate = product({ stock: 1 });

    const error = refusedPlacing([{ product: mug, quantity: 2 }, { product: plate, quantity: 2 }], InsufficientStockError, 'insufficient_stock');

    expect(error).toMatchObject({ productId: plate.id, requested: 2, available: 1 });
    expect(plate.stock).toBe(1);
    // Every line is checked before any stock is taken: a refused order changes nothing.
    expect(mug.stock).toBe(10);
  });

  it('reserves nothing when the first line cannot be served', () => {
    const mug = product({ stock: 1 });
    const plate = product({ stock: 5 });

    expect(
      domainErrorOf(() =>
        place([
          { product: mug, quantity: 2 },
          { product: plate, quantity: 1 },
        ]),
      ).code,
    ).toBe('insufficient_stock');
    expect(mug.stock).toBe(1);
    expect(plate.stock).toBe(5);
  });

  it('refuses two lines for the same product', () => {
    const mug = product({ stock: 10 });

    const error = refusedPlacing([{ product: mug, quantity: 1 }, { product: mug, quantity: 2 }], InvalidValueError, 'invalid_value');

    expect(error.message).toContain(mug.id);
    expect(mug.stock).toBe(10);
  });

  it('refuses a product that is not in the catalogue', () => {
    const mug = product();
    const ghost = newId();

    const error = domainErrorOf(() =>
      Order.place({
        id: newId(),
        userId: newId(),
        lines: [
          { productId: mug.id, quantity: 1 },
          { productId: ghost, quantity: 1 },
        ],
        products: catalogue(mug),
        now: placedAt,
      }),
    );

    expect(error).toBeInstanceOf(NotFoundError);
    expect(error.code).toBe('product_not_found');
    expect(error.message).toContain(ghost);
  });

  it('refuses an order without lines', () => {
    refusedPlacing([], InvalidValueError, 'invalid_value');
  });

  it(`accepts ${MAX_ORDER_LINES} lines and refuses ${MAX_ORDER_LINES + 1}`, () => {
    expect(MAX_ORDER_LINES).toBe(100);
    const products = Array.from({ length: MAX_ORDER_LINES + 1 }, () => product({ price: '1.00', stock: 1 }));
    const lines = products.map((p) => ({ product: p, quantity: 1 }));

    const tooMany = domainErrorOf(() => place(lines));
    expect(tooMany.code).toBe('invalid_value');
    expect(products.every((p) => p.stock === 1)).toBe(true);

    const order = place(lines.slice(0, MAX_ORDER_LINES));
    expect(order.items).toHaveLength(MAX_ORDER_LINES);
    expect(order.total.toDecimalString()).toBe('100.00');
  });

  it.each([0, -1, 1.5, MAX_QUANTITY + 1, Number.NaN])('refuses a quantity of %s and reserves nothing', (quantity) => {
    const mug = product({ stock: 10 });

    expect(domainErrorOf(() => place([{ product: mug, quantity }])).code).toBe('invalid_value');
    expect(mug.stock).toBe(10);
  });

  it('refuses products priced in different currencies', () => {
    const mug = product({ currency: 'EUR', stock: 10 });
    const cup = product({ currency: 'USD', stock: 10 });

    refusedPlacing([{ product: mug, quantity: 1 }, { product: cup, quantity: 1 }], CurrencyMismatchError, 'currency_mismatch');

    expect([mug.stock, cup.stock]).toEqual([10, 10]);
  });

  it.each<[{ id?: string; userId?: string }, string]>([
    [{ id: 'not-a-uuid' }, 'order id'],
    [{ userId: 'not-a-uuid' }, 'user id'],
  ])('refuses a malformed %s', (ids) => {
    const mug = product();

    expect(domainErrorOf(() => place([{ product: mug, quantity: 1 }], ids)).code).toBe('invalid_value');
  });

  it('refuses a total beyond what money can hold exactly', () => {
    const gold = Product.add({
      id: newId(),
      sku: 'GOLD',
      name: 'Gold bar',
      price: Money.ofMinor(Number.MAX_SAFE_INTEGER, 'EUR'),
      stock: 2,
      now: placedAt,
    });

    expect(domainErrorOf(() => place([{ product: gold, quantity: 2 }])).code).toBe('invalid_value');
  });
});

type Action = 'confirm' | 'ship' | 'deliver' | 'cancel';

/**
 * An order brought into `status` through the allowed transitions, its events drained. Its one
 * line holds 2 of the 10 units of `mug` (a cancelled order has given them back).
 */
function orderIn(status: OrderStatus): { order: Order; mug: Product; products: Map<string, Product> } {
  const mug = product({ stock: 10 });
  const products = catalogue(mug);
  const order = place([{ product: mug, quantity: 2 }], { products });
  if (status === 'cancelled') order.cancel('changed my mind', products, placedAt);
  if (status === 'confirmed' || status === 'shipped' || status === 'delivered') order.confirm(placedAt);
  if (status === 'shipped' || status === 'delivered') order.ship(placedAt);
  if (status === 'delivered') order.deliver(placedAt);
  expect(order.status).toBe(status);
  order.pullEvents();
  return { order, mug, products };
}

function act(order: Order, action: Action, products: Map<string, Product>, now: Date): void {
  switch (action) {
    case 'confirm':
      return order.confirm(now);
    case 'ship':
      return order.ship(now);
    case 'deliver':
      return order.deliver(now);
    case 'cancel':
      return order.cancel('out of stock at the warehouse', products, now);
  }
}

// Every (status, action) pair: the new status and event, or null when the transition is refused.
const MACHINE: [OrderStatus, Action, OrderStatus | null, string | null][] = [
  ['pending', 'confirm', 'confirmed', 'order.confirmed'],
  ['pending', 'ship', null, null],
  ['pending', 'deliver', null, null],
  ['pending', 'cancel', 'cancelled', 'order.cancelled'],
  ['confirmed', 'confirm', null, null],
  ['confirmed', 'ship', 'shipped', 'order.shipped'],
  ['confirmed', 'deliver', null, null],
  ['confirmed', 'cancel', 'cancelled', 'order.cancelled'],
  ['shipped', 'confirm', null, null],
  ['shipped', 'ship', null, null],
  ['shipped', 'deliver', 'delivered', 'order.delivered'],
  ['shipped', 'cancel', null, null],
  ['delivered', 'confirm', null, null],
  ['delivered', 'ship', null, null],
  ['delivered', 'deliver', null, null],
  ['delivered', 'cancel', null, null],
  ['cancelled', 'confirm', null, null],
  ['cancelled', 'ship', null, null],
  ['cancelled', 'deliver', null, null],
  ['cancelled', 'cancel', null, null],
];

describe('Order status machine', () => {
  it('the table covers every status with every action', () => {
    expect(new Set(MACHINE.map(([from]) => from))).toEqual(new Set(ORDER_STATUSES));
    expect(new Set(MACHINE.map(([from, action]) => `${from}/${action}`)).size).toBe(ORDER_STATUSES.length * 4);
  });

  const allowed = MACHINE.filter(([, , to]) => to !== null);
  const refused = MACHINE.filter(([, , to]) => to === null);

  it.each(allowed)('%s --%s--> %s records %s', (from, action, to, eventType) => {
    const { order, mug, products } = orderIn(from);

    act(order, action, products, later);

    expect(order.status).toBe(to);
    // Only a cancellation gives the 2 reserved units back.
    expect(mug.stock).toBe(action === 'cancel' ? 10 : 8);
    const events = order.pullEvents();
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      type: eventType,
      aggregateType: 'order',
      aggregateId: order.id,
      occurredAt: later,
      payload: { orderId: order.id, status: to },
    });
  });

  it.each(refused)('%s --%s--> refused with invalid_transition', (from, action) => {
    const { order, mug, products } = orderIn(from);
    const stockBefore = mug.stock;
    const reasonBefore = order.cancellationReason;

    const error = domainErrorOf(() => act(order, action, products, later));

    expect(error).toBeInstanceOf(InvalidTransitionError);
    expect(error.code).toBe('invalid_transition');
    expect(error).toMatchObject({ from, action });
    expect(order.status).toBe(from);
    expect(order.pullEvents()).toEqual([]);
    expect(mug.stock).toBe(stockBefore);
    expect(order.cancellationReason).toBe(reasonBefore);
  });

  it('a transition event carries the whole order in its new status', () => {
    const { order, mug } = orderIn('confirmed');

    order.ship(later);

    expect(order.pullEvents()[0]?.payload).toEqual({
      orderId: order.id,
      userId: order.userId,
      status: 'shipped',
      items: [
        { productId: mug.id, sku: mug.sku, name: mug.name, quantity: 2, unitPrice: { amount: '12.50', currency: 'EUR' } },
      ],
      total: { amount: '25.00', currency: 'EUR' },
    });
  });

  it('pullEvents hands out the events in order, once', () => {
    const mug = product();
    const order = place([{ product: mug, quantity: 1 }]);
    order.confirm(later);
    order.ship(later);
    order.deliver(later);

    expect(order.pullEvents().map((event) => event.type)).toEqual([
      'order.placed',
      'order.confirmed',
      'order.shipped',
      'order.delivered',
    ]);
    expect(order.pullEvents()).toEqual([]);
  });
});

describe('Order.cancel', () => {
  it.each<OrderStatus>(['pending', 'confirmed'])('gives the units of every line back to stock (%s)', (status) => {
    const mug = product({ stock: 10 });
    const plate = product({ stock: 5 });
    const products = catalogue(mug, plate);
    const order = place(
      [
        { product: mug, quantity: 2 },
        { product: plate, quantity: 5 },
      ],
      { products },
    );
    if (status === 'confirmed') order.confirm(placedAt);
    expect([mug.stock, plate.stock]).toEqual([8, 0]);

    order.cancel('customer changed their mind', products, later);

    expect(order.status).toBe('cancelled');
    expect([mug.stock, plate.stock]).toEqual([10, 5]);
  });

  it('keeps the trimmed reason and puts it in the order.cancelled event', () => {
    const { order, products } = orderIn('pending');

    order.cancel('  wrong size  ', products, later);

    expect(order.cancellationReason).toBe('wrong size');
    expectOneCancelledEvent(order, 'wrong size');
  });

  it(`accepts a reason of ${MAX_REASON_LENGTH} characters`, () => {
    const { order, products } = orderIn('pending');
    const reason = 'r'.repeat(MAX_REASON_LENGTH);

    order.cancel(reason, products, later);

    expect(order.cancellationReason).toBe(reason);
  });

  it.each([
    ['', 'empty'],
    ['   ', 'blank'],
    ['r'.repeat(MAX_REASON_LENGTH + 1), `${MAX_REASON_LENGTH + 1} characters`],
  ])('refuses the reason "%s" (%s) and changes nothing', (reason) => {
    const { order, mug, products } = orderIn('pending');

    const error = domainErrorOf(() => order.cancel(reason, products, later));

    expect(error).toBeInstanceOf(InvalidValueError);
    expect(error.code).toBe('invalid_value');
    expect(order.status).toBe('pending');
    expect(order.cancellationReason).toBeNull();
    expect(mug.stock).toBe(8);
    expect(order.pullEvents()).toEqual([]);
  });

  it('fails with product_not_found when a product of the order was not loaded', () => {
    const { order } = orderIn('pending');

    const error = domainErrorOf(() => order.cancel('lost parcel', new Map(), later));

    expect(error.code).toBe('product_not_found');
    expect(order.status).toBe('pending');
    expect(order.cancellationReason).toBeNull();
    expect(order.pullEvents()).toEqual([]);
  });

  it('cannot return stock twice: a second cancel is refused', () => {
    const { order, mug, products } = orderIn('pending');
    order.cancel('first', products, later);

    expect(domainErrorOf(() => order.cancel('second', products, later)).code).toBe('invalid_transition');
    expect(mug.stock).toBe(10);
    expect(order.cancellationReason).toBe('first');
  });
});

describe('Order.expire', () => {
  it('cancels a pending order as not confirmed in time: its units go back and order.cancelled is recorded', () => {
    const { order, mug, products } = orderIn('pending');

    expect(order.expire(products, later)).toBe(true);

    expect(order.status).toBe('cancelled');
    expect(order.cancellationReason).toBe(EXPIRY_REASON);
    expect(EXPIRY_REASON).toBe('not confirmed in time');
    expect(mug.stock).toBe(10);
    expectOneCancelledEvent(order, 'not confirmed in time');
  });

  it.each<OrderStatus>(['confirmed', 'shipped', 'delivered', 'cancelled'])(
    'leaves a %s order exactly as it is, without an error or an event',
    (status) => {
      const { order, mug, products } = orderIn(status);
      const reasonBefore = order.cancellationReason;
      const stockBefore = mug.stock;

      expect(order.expire(products, later)).toBe(false);

      expect(order.status).toBe(status);
      expect(order.cancellationReason).toBe(reasonBefore);
      expect(mug.stock).toBe(stockBefore);
      expect(order.pullEvents()).toEqual([]);
    },
  );

  it('expires an order once: a second expiry changes nothing', () => {
    const { order, mug, products } = orderIn('pending');
    order.expire(products, later);
    order.pullEvents();

    expect(order.expire(products, later)).toBe(false);
    expect(mug.stock).toBe(10);
    expect(order.pullEvents()).toEqual([]);
  });
});
