import { systemClock } from '../../src/application/clock.js';
import type { UnitOfWork } from '../../src/application/commerce/ports/unit-of-work.js';
import { AddProduct } from '../../src/application/commerce/use-cases/add-product.js';
import { RegisterUser } from '../../src/application/commerce/use-cases/register-user.js';
import { newId } from './orm.js';

/** Registers a user through the RegisterUser use case on `uow`; answers with the new user's id. */
export async function registerUserThrough(
  uow: UnitOfWork,
  { email, name = 'Ann' }: { email?: string; name?: string } = {},
): Promise<string> {
  const userId = newId();
  await new RegisterUser(uow, systemClock).execute({ commandId: newId(), userId, email: email ?? `${userId}@example.com`, name });
  return userId;
}

/** Adds a product with `stock` units through the AddProduct use case on `uow`; answers with the new product's id. */
export async function addProductThrough(
  uow: UnitOfWork,
  stock: number,
  { amount = '12.50', currency = 'EUR', name = 'Widget', skuPrefix = 'SKU' } = {},
): Promise<string> {
  const productId = newId();
  await new AddProduct(uow, systemClock).execute({
    commandId: newId(),
    productId,
    sku: `${skuPrefix}-${productId.slice(-12)}`,
    name,
    price: { amount, currency },
    stock,
  });
  return productId;
}
