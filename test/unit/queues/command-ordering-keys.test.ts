import { describe, expect, it } from 'vitest';
import { COMMAND_TYPES, commandJob, commandPayloads, orderingKey, splitJobData, type CommandPayload } from '../../../queues/commands.js';

const orderId = '01930000-0000-7000-8000-0000000000aa';
const commandId = '01930000-0000-7000-8000-0000000000cc';
const after = '01930000-0000-7000-8000-0000000000bb';

describe('per-aggregate ordering keys (queues/commands.ts)', () => {
  it('keys every command type by the aggregate it changes', () => {
    const examples: { [T in (typeof COMMAND_TYPES)[number]]: CommandPayload<T> } = {
      RegisterUser: { commandId, userId: orderId, email: 'a@example.com', name: 'A' },
      AddProduct: { commandId, productId: orderId, sku: 'S', name: 'N', price: { amount: '1', currency: 'EUR' }, stock: 1 },
      RestockProduct: { commandId, productId: orderId, quantity: 1 },
      PlaceOrder: { commandId, orderId, userId: after, items: [{ productId: after, quantity: 1 }] },
      ConfirmOrder: { commandId, orderId },
      ShipOrder: { commandId, orderId },
      DeliverOrder: { commandId, orderId },
      CancelOrder: { commandId, orderId, reason: 'r' },
      ExpireOrder: { commandId, orderId },
    };
    expect(Object.fromEntries(COMMAND_TYPES.map((type) => [type, orderingKey(type, examples[type] as never)]))).toEqual({
      RegisterUser: `user:${orderId}`,
      AddProduct: `product:${orderId}`,
      RestockProduct: `product:${orderId}`,
      PlaceOrder: `order:${orderId}`,
      ConfirmOrder: `order:${orderId}`,
      ShipOrder: `order:${orderId}`,
      DeliverOrder: `order:${orderId}`,
      CancelOrder: `order:${orderId}`,
      ExpireOrder: `order:${orderId}`,
    });
  });

  it('carries the predecessor beside the payload, which still parses as the command', () => {
    const job = commandJob('ShipOrder', { commandId, orderId }, { after });
    expect(job).toEqual({ name: 'ShipOrder', data: { commandId, orderId, after }, opts: { jobId: commandId } });
    const { payload, fields } = splitJobData(job.data);
    expect(commandPayloads.ShipOrder.parse(payload)).toEqual({ commandId, orderId });
    expect(fields.data).toEqual({ after });
    expect(commandJob('ShipOrder', { commandId, orderId }).data).toEqual({ commandId, orderId });
    const sentBy = { keyId: '01930000-0000-7000-8000-0000000000cc', name: 'shop' };
    const sent = commandJob('ShipOrder', { commandId, orderId }, { after, sentBy });
    expect(splitJobData(sent.data).fields.data).toEqual({ after, sentBy });
    expect(commandPayloads.ShipOrder.parse(splitJobData(sent.data).payload)).toEqual({ commandId, orderId });
  });

  it('refuses a predecessor that is not a command id', () => {
    expect(splitJobData({ commandId, orderId, after: 'x' }).fields.success).toBe(false);
    expect(splitJobData({ commandId, orderId }).fields.data).toEqual({});
    expect(splitJobData(null).payload).toBeNull();
  });
});
