import { describe, expect, it } from 'vitest';
import { PlaceOrder, type PlaceOrderInput } from '../../../../src/application/commerce/use-cases/place-order.js';
import { RestockProduct } from '../../../../src/application/commerce/use-cases/restock-product.js';
import { RecordedFailureError, type DomainError } from '../../../../src/domain/index.js';
import { useCaseUnderTest } from '../../support/use-case.js';
import { domainRejectionOf } from '../../support/errors.js';
import { newId } from '../../support/ids.js';
import { seedProduct, seedUser } from '../../support/seed.js';
import { twoRedMugsPlaced } from '../../support/orders.js';

describe('PlaceOrder', () => {
  const t = useCaseUnderTest((uow, clock) => new PlaceOrder(uow, clock));

  function input(userId: string, items: PlaceOrderInput['items']): PlaceOrderInput {
    return { commandId: newId(), orderId: newId(), userId, items };
  }

  function stockOf(...productIds: string[]): (number | undefined)[] {
    return productIds.map((id) => t.uow.storedProduct(id)?.stock);
  }

  /** Runs `cmd` and expects it refused with `code`, with no order stored and no outbox row; answers the error. */
  async function refusal(cmd: PlaceOrderInput, code: string): Promise<DomainError> {
    const error = await t.refusal(cmd, code);
    expect(t.uow.storedOrders()).toEqual([]);
    return error;
  }

  it('stores a pending order with the captured prices and answers with id and total', async () => {
    const user = seedUser(t.uow);
    const mug = seedProduct(t.uow, { price: '12.50', name: 'Red mug', stock: 10 });
    const plate = seedProduct(t.uow, { price: '3.20', name: 'Plate', stock: 5 });
    const cmd = input(user.id, [
      { productId: mug.id, quantity: 2 },
      { productId: plate.id, quantity: 3 },
    ]);

    const output = await t.useCase.execute(cmd);

    expect(output).toEqual({ orderId: cmd.orderId, total: { amount: '34.60', currency: 'EUR' } });
    const order = t.uow.storedOrder(cmd.orderId);
    expect(order?.status).toBe('pending');
    expect(order?.userId).toBe(user.id);
    expect(order?.placedAt).toEqual(t.clock.now());
    expect(order?.items).toEqual([
      { productId: mug.id, sku: mug.sku, name: 'Red mug', quantity: 2, unitPriceMinor: 1250 },
      { productId: plate.id, sku: plate.sku, name: 'Plate', quantity: 3, unitPriceMinor: 320 },
    ]);
    expect(order?.total.toJSON()).toEqual({ amount: '34.60', currency: 'EUR' });
  });

  it('decrements the stored stock of every product', async () => {
    const user = seedUser(t.uow);
    const mug = seedProduct(t.uow, { stock: 10 });
    const plate = seedProduct(t.uow, { stock: 3 });

    await t.useCase.execute(
      input(user.id, [
        { productId: mug.id, quantity: 2 },
        { productId: plate.id, quantity: 3 },
      ]),
    );

    expect(stockOf(mug.id, plate.id)).toEqual([8, 0]);
  });

  it('writes exactly one order.placed outbox row (the order confirmation)', async () => {
    const user = seedUser(t.uow);
    const mug = seedProduct(t.uow, { price: '12.50', name: 'Red mug' });
    const cmd = input(user.id, [{ productId: mug.id, quantity: 2 }]);

    await t.useCase.execute(cmd);

    expect(t.uow.outbox).toEqual([
      t.outboxRow('order.placed', cmd.orderId, cmd.commandId, twoRedMugsPlaced(cmd.orderId, user.id, mug)),
    ]);
  });

  it('refuses an unknown user with user_not_found and reserves nothing', async () => {
    const mug = seedProduct(t.uow, { stock: 10 });
    const cmd = input(newId(), [{ productId: mug.id, quantity: 1 }]);

    await refusal(cmd, 'user_not_found');
    expect(stockOf(mug.id)).toEqual([10]);
  });

  it.each([
    ['an unknown product with product_not_found and leaves the other lines alone', 'product_not_found', () => newId()],
    ['two lines for the same product, reserving nothing', 'invalid_value', (mugId: string) => mugId],
  ])('refuses %s', async (_what, code, secondProductId) => {
    const user = seedUser(t.uow);
    const mug = seedProduct(t.uow, { stock: 10 });
    const cmd = input(user.id, [
      { productId: mug.id, quantity: 1 },
      { productId: secondProductId(mug.id), quantity: 1 },
    ]);

    await refusal(cmd, code);
    expect(stockOf(mug.id)).toEqual([10]);
  });

  it('fails the whole order when a later line cannot be served, and no stock is lost', async () => {
    const user = seedUser(t.uow);
    const mug = seedProduct(t.uow, { stock: 10 });
    const plate = seedProduct(t.uow, { stock: 1 });
    const cmd = input(user.id, [
      { productId: mug.id, quantity: 2 },
      { productId: plate.id, quantity: 2 },
    ]);

    const error = await refusal(cmd, 'insufficient_stock');

    expect(error.message).toBe(`product ${plate.id} has 1 in stock, 2 requested`);
    // Order.place had already reserved the mug line in memory; the rollback discards it.
    expect(stockOf(mug.id, plate.id)).toEqual([10, 1]);
    expect(t.uow.processed(cmd.commandId)).toMatchObject({
      commandType: 'PlaceOrder',
      status: 'failed',
      error: { code: 'insufficient_stock' },
    });
  });

  it('refuses products priced in different currencies with currency_mismatch, reserving nothing', async () => {
    const user = seedUser(t.uow);
    const mug = seedProduct(t.uow, { currency: 'EUR', stock: 10 });
    const cup = seedProduct(t.uow, { currency: 'USD', stock: 10 });

    const cmd = input(user.id, [
      { productId: mug.id, quantity: 1 },
      { productId: cup.id, quantity: 1 },
    ]);

    await refusal(cmd, 'currency_mismatch');
    expect(stockOf(mug.id, cup.id)).toEqual([10, 10]);
  });

  it('refuses an order without items', async () => {
    const user = seedUser(t.uow);

    const error = await domainRejectionOf(t.useCase.execute(input(user.id, [])));

    expect(error.code).toBe('invalid_value');
    expect(t.uow.storedOrders()).toEqual([]);
  });

  it('accepts 100 items and refuses 101', async () => {
    const user = seedUser(t.uow);
    const products = Array.from({ length: 101 }, () => seedProduct(t.uow, { price: '1.00', stock: 1 }));
    const items = products.map((p) => ({ productId: p.id, quantity: 1 }));

    const tooMany = await domainRejectionOf(t.useCase.execute(input(user.id, items)));
    expect(tooMany.code).toBe('invalid_value');
    expect(stockOf(...products.map((p) => p.id)).every((stock) => stock === 1)).toBe(true);

    const output = await t.useCase.execute(input(user.id, items.slice(0, 100)));
    expect(output.total).toEqual({ amount: '100.00', currency: 'EUR' });
    expect(t.uow.storedOrder(output.orderId)?.items).toHaveLength(100);
  });

  it.each([0, -1, 1.5])('refuses a quantity of %s', async (quantity) => {
    const user = seedUser(t.uow);
    const mug = seedProduct(t.uow, { stock: 10 });

    const error = await domainRejectionOf(t.useCase.execute(input(user.id, [{ productId: mug.id, quantity }])));

    expect(error.code).toBe('invalid_value');
    expect(stockOf(mug.id)).toEqual([10]);
  });

  it('sells the last units, then refuses the next order', async () => {
    const user = seedUser(t.uow);
    const mug = seedProduct(t.uow, { stock: 3 });

    await t.useCase.execute(input(user.id, [{ productId: mug.id, quantity: 3 }]));
    const error = await domainRejectionOf(t.useCase.execute(input(user.id, [{ productId: mug.id, quantity: 1 }])));

    expect(error.code).toBe('insufficient_stock');
    expect(stockOf(mug.id)).toEqual([0]);
    expect(t.uow.storedOrders()).toHaveLength(1);
  });

  it('never oversells when many orders race for the same stock', async () => {
    const user = seedUser(t.uow);
    const mug = seedProduct(t.uow, { stock: 3 });
    const commands = Array.from({ length: 10 }, () => input(user.id, [{ productId: mug.id, quantity: 1 }]));

    const outcomes = await Promise.allSettled(commands.map((cmd) => t.useCase.execute(cmd)));

    const rejected = outcomes.filter((outcome) => outcome.status === 'rejected');
    expect(outcomes.filter((outcome) => outcome.status === 'fulfilled')).toHaveLength(3);
    expect(rejected).toHaveLength(7);
    for (const outcome of rejected) expect(outcome.reason).toMatchObject({ code: 'insufficient_stock' });
    expect(stockOf(mug.id)).toEqual([0]);
    expect(t.uow.storedOrders()).toHaveLength(3);
    expect(t.uow.outbox.filter((row) => row.type === 'order.placed')).toHaveLength(3);
  });

  it('applies a redelivered command once: one order, stock taken once, same answer', async () => {
    const user = seedUser(t.uow);
    const mug = seedProduct(t.uow, { stock: 10 });
    const cmd = input(user.id, [{ productId: mug.id, quantity: 4 }]);

    await t.executedTwice(cmd);

    expect(stockOf(mug.id)).toEqual([6]);
    expect(t.uow.storedOrders()).toHaveLength(1);
    expect(t.uow.outbox).toHaveLength(1);
  });

  it('keeps failing a command that failed for lack of stock, even after a restock', async () => {
    const user = seedUser(t.uow);
    const mug = seedProduct(t.uow, { stock: 1 });
    const cmd = input(user.id, [{ productId: mug.id, quantity: 2 }]);
    await domainRejectionOf(t.useCase.execute(cmd));
    await new RestockProduct(t.uow, t.clock).execute({ commandId: newId(), productId: mug.id, quantity: 5 });

    const again = await domainRejectionOf(t.useCase.execute(cmd));

    expect(again).toBeInstanceOf(RecordedFailureError);
    expect(again.code).toBe('insufficient_stock');
    expect(stockOf(mug.id)).toEqual([6]);
    expect(t.uow.storedOrders()).toEqual([]);
  });

  it('retries after an infrastructure failure and then places the order once', async () => {
    const user = seedUser(t.uow);
    const mug = seedProduct(t.uow, { stock: 10 });
    const cmd = input(user.id, [{ productId: mug.id, quantity: 2 }]);
    t.uow.failNextCommitWith(new Error('could not serialize access'));

    await expect(t.useCase.execute(cmd)).rejects.toThrow('could not serialize access');
    expect(stockOf(mug.id)).toEqual([10]);
    expect(t.uow.outbox).toEqual([]);

    await t.useCase.execute(cmd);
    await t.useCase.execute(cmd);
    expect(stockOf(mug.id)).toEqual([8]);
    expect(t.uow.storedOrders()).toHaveLength(1);
    expect(t.uow.outbox.map((row) => row.type)).toEqual(['order.placed']);
  });
});
