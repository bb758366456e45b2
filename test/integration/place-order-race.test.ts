import { describe, expect, it } from 'vitest';
import { PlaceOrder } from '../../src/application/commerce/use-cases/place-order.js';
import { systemClock } from '../../src/application/clock.js';
import { addProductThrough, registerUserThrough } from '../support/commerce.js';
import { newId } from '../support/orm.js';
import { unitOfWorkOnFreshDatabase } from '../support/unit-of-work.js';

const store = unitOfWorkOnFreshDatabase();

const product = (stock: number) =>
  addProductThrough(store.uow, stock, { amount: '1.00', name: 'Scarce', skuPrefix: 'RACE' });

describe('PlaceOrder under concurrency', () => {
  it('sells exactly the stock when 200 orders race for 50 units', async () => {
    const userId = await registerUserThrough(store.uow, { name: 'Racer' });
    const productId = await product(50);
    const place = new PlaceOrder(store.uow, systemClock);

    const results = await Promise.allSettled(
      Array.from({ length: 200 }, () =>
        place.execute({ commandId: newId(), orderId: newId(), userId, items: [{ productId, quantity: 1 }] }),
      ),
    );

    const failures = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as { code?: string }] : []));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(50);
    expect(failures).toHaveLength(150);
    expect(new Set(failures.map((f) => f.code))).toEqual(new Set(['insufficient_stock']));
    const [row] = await store.sql<{ stock: number }>('select stock from products where id = ?', [productId]);
    expect(row?.stock).toBe(0);
    const [placed] = await store.sql<{ n: string }>(
      "select count(*) as n from outbox_messages where type = 'order.placed'",
    );
    expect(Number(placed?.n)).toBe(50);
    const [orders] = await store.sql<{ n: string }>('select count(*) as n from orders');
    expect(Number(orders?.n)).toBe(50);
  });

  it('does not deadlock when orders take the same products in opposite orders', async () => {
    const userId = await registerUserThrough(store.uow, { name: 'Racer' });
    const a = await product(100);
    const b = await product(100);
    const place = new PlaceOrder(store.uow, systemClock);
    const results = await Promise.allSettled(
      Array.from({ length: 100 }, (_, i) =>
        place.execute({
          commandId: newId(),
          orderId: newId(),
          userId,
          items:
            i % 2 === 0
              ? [
                  { productId: a, quantity: 1 },
                  { productId: b, quantity: 1 },
                ]
              : [
                  { productId: b, quantity: 1 },
                  { productId: a, quantity: 1 },
                ],
        }),
      ),
    );
    expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
    const stocks = await store.sql<{ stock: number }>('select stock from products where id in (?, ?)', [a, b]);
    expect(stocks.map((s) => s.stock)).toEqual([0, 0]);
  });
});
