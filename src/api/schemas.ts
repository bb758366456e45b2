import { z } from 'zod';
import { ORDER_STATUSES } from '../domain/index.js';

// Request parameters and response bodies of the HTTP routes. Command bodies are not here:
// they are the schemas of queues/commands.ts, shared with the worker.

/** An id in a path: any RFC 9562 UUID, normalised to lower case as the domain stores it. */
export const uuidParam = () => z.uuid().toLowerCase();

const uuid = () => z.uuid();
const timestamp = () => z.string().describe('ISO 8601 date-time');

export const moneyDto = z.object({
  amount: z.string().describe('decimal string with the currency\'s minor digits, e.g. "12.50"'),
  currency: z.string().describe('ISO 4217 code'),
});

export const orderDto = z.object({
  orderId: uuid(),
  userId: uuid(),
  status: z.enum(ORDER_STATUSES),
  items: z.array(
    z.object({
      productId: uuid(),
      sku: z.string(),
      name: z.string(),
      quantity: z.int(),
      unitPrice: moneyDto,
      lineTotal: moneyDto,
    }),
  ),
  total: moneyDto,
  cancellationReason: z.string().nullable(),
  placedAt: timestamp(),
  updatedAt: timestamp(),
});

export const productDto = z.object({
  productId: uuid(),
  sku: z.string(),
  name: z.string(),
  price: moneyDto,
  stock: z.int(),
  createdAt: timestamp(),
  updatedAt: timestamp(),
});

export const orderPageDto = z.object({
  items: z.array(orderDto),
  total: z.int(),
  page: z.int(),
  pageSize: z.int(),
});

export const orderSummaryDto = z.object({
  totalOrders: z.int(),
  totalSpent: z.string(),
  averageOrderValue: z.string(),
  currency: z.string().nullable().describe('null when the user has no orders in the range'),
});

export const commandStatusDto = z.object({
  commandId: uuid(),
  type: z.string(),
  status: z.enum(['queued', 'running', 'succeeded', 'failed']),
  attempts: z.int(),
  result: z.unknown().optional(),
  error: z.object({ code: z.string(), message: z.string() }).optional(),
});

/** Security requirement of every /v1 route (see the `bearerAuth` scheme in docs.ts). */
export const BEARER_SECURITY = [{ bearerAuth: [] }];
