import { describe, expect, it } from 'vitest';
import { commandPayloads, COMMAND_TYPES } from '../../../queues/commands.js';
import { SCHEDULABLE_COMMAND_TYPES, runCommandOf, scheduledCommandProblem } from '../../../queues/schedules.js';
import { newId } from '../support/ids.js';

describe('the commands a schedule may run (queues/schedules.ts)', () => {
  it('are the public commands whose runs can all succeed: not RegisterUser, AddProduct (unique email, sku) or ExpireOrder', () => {
    expect(COMMAND_TYPES.filter((type) => !SCHEDULABLE_COMMAND_TYPES.includes(type as never)).sort()).toEqual([
      'AddProduct',
      'ExpireOrder',
      'RegisterUser',
    ]);
  });

  it('builds the run of a restock from its body and the command id, checked against the payload schema', () => {
    const productId = newId();
    const commandId = newId();

    const run = runCommandOf({ type: 'RestockProduct', body: { productId, quantity: 3 } }, commandId, () => {
      throw new Error('a restock names its product');
    });

    expect(run).toEqual({ type: 'RestockProduct', payload: { commandId, productId, quantity: 3 } });
    expect(commandPayloads.RestockProduct.parse(run.payload)).toEqual(run.payload);
  });

  it('gives every run of a standing order the order id newId says', () => {
    const orderId = newId();
    const body = { userId: newId(), items: [{ productId: newId(), quantity: 1 }] };

    const run = runCommandOf({ type: 'PlaceOrder', body }, newId(), (field) => (field === 'orderId' ? orderId : ''));

    expect(run.payload).toMatchObject({ ...body, orderId });
  });

  it.each([
    [{ type: 'RegisterUser', body: { email: 'a@example.com', name: 'A' } }, /^type: /],
    [{ type: 'RestockProduct', body: { productId: newId(), quantity: 0 } }, /^body\.quantity: /],
    [{ type: 'RestockProduct', body: { productId: newId(), quantity: 1, extra: true } }, /^body: .*extra/],
    [{ type: 'PlaceOrder', body: { orderId: newId(), userId: newId(), items: [{ productId: newId(), quantity: 1 }] } }, /orderId/],
  ])('names what is wrong with %o', (command, message) => {
    expect(scheduledCommandProblem(command)).toMatch(message);
    expect(() => runCommandOf(command, newId(), () => newId())).toThrow();
  });
});
