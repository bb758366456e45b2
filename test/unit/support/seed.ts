import { Money, Order, Product, User } from '../../../src/domain/index.js';
import type { InMemoryUnitOfWork } from '../fakes/in-memory-unit-of-work.js';
import { newId } from './ids.js';

const seededAt = new Date('2025-01-01T00:00:00.000Z');
let counter = 0;

/** A user committed before the test starts (its event is not in the outbox). */
export function seedUser(uow: InMemoryUnitOfWork, email?: string): User {
  counter += 1;
  const user = User.register({
    id: newId(),
    email: email ?? `user${counter}@example.com`,
    name: `User ${counter}`,
    now: seededAt,
  });
  uow.seed(user);
  return user;
}

/** A product committed before the test starts. */
export function seedProduct(
  uow: InMemoryUnitOfWork,
  options: { price?: string; currency?: string; stock?: number; sku?: string; name?: string } = {},
): Product {
  counter += 1;
  const product = Product.add({
    id: newId(),
    sku: options.sku ?? `SKU-${counter}`,
    name: options.name ?? `Product ${counter}`,
    price: Money.parse(options.price ?? '12.50', options.currency ?? 'EUR'),
    stock: options.stock ?? 10,
    now: seededAt,
  });
  uow.seed(product);
  return product;
}

/**
 * A pending order committed before the test starts, for `quantity` units of each product;
 * the stored products' stock already reflects the reservation.
 */
export function seedOrder(uow: InMemoryUnitOfWork, products: Product[], quantity = 1): Order {
  const user = seedUser(uow);
  const stored = products.map((p) => uow.storedProduct(p.id) ?? p);
  const order = Order.place({
    id: newId(),
    userId: user.id,
    lines: stored.map((p) => ({ productId: p.id, quantity })),
    products: new Map(stored.map((p) => [p.id, p])),
    now: seededAt,
  });
  uow.seed(order, ...stored);
  return order;
}
