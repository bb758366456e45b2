import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { GetCommandStatus } from '../../application/commerce/queries/get-command-status.js';
import type { ReadModel } from '../../application/commerce/queries/read-model.js';
import type { WatchCommand } from '../../application/commerce/queries/watch-command.js';
import type { LiveRequests } from '../live.js';
import { notFound, problemResponses } from '../problem.js';
import {
  BEARER_SECURITY,
  commandStatusDto,
  orderDto,
  orderPageDto,
  orderSummaryDto,
  pageParam,
  productDto,
  uuidParam,
} from '../schemas.js';

export interface QueryRoutesOptions {
  readModel: ReadModel;
  commandStatus: GetCommandStatus;
  watch: WatchCommand;
  live: LiveRequests;
}

/** The longest `?wait=` of GET /v1/commands/:commandId, in seconds. */
export const MAX_WAIT_SECONDS = 30;

export const MAX_PAGE_SIZE = 100;

const dateTime = () =>
  z.iso.datetime({ offset: true }).describe('ISO 8601 date-time, e.g. 2026-01-31T00:00:00Z');

const summaryQuery = z
  .object({ from: dateTime().optional(), to: dateTime().optional() })
  .refine((query) => !query.from || !query.to || Date.parse(query.from) <= Date.parse(query.to), {
    message: 'must not be before "from"',
    path: ['to'],
  });

/** The synchronous read side: answers from the read model (and the queue for commands). */
export const queryRoutes: FastifyPluginAsyncZod<QueryRoutesOptions> = async (app, options) => {
  const { readModel, commandStatus, watch, live } = options;

  app.get(
    '/v1/commands/:commandId',
    {
      schema: {
        summary: 'Follow a command',
        tags: ['queries'],
        security: BEARER_SECURITY,
        description:
          `With ?wait=<seconds> (at most ${MAX_WAIT_SECONDS}) the answer comes as soon as the command settles ` +
          '(succeeded, failed or cancelled), or with its status as it is when the wait ends.',
        params: z.object({ commandId: uuidParam() }),
        querystring: z.object({
          wait: z.coerce
            .number()
            .min(0)
            .max(MAX_WAIT_SECONDS)
            .optional()
            .describe('seconds to wait for the command to settle before answering'),
        }),
        response: { 200: commandStatusDto, ...problemResponses(400, 401, 404) },
      },
    },
    async (request, reply) => {
      const { commandId } = request.params;
      const waitMs = (request.query.wait ?? 0) * 1000;
      const status = waitMs > 0 ? await watch.wait(commandId, waitMs, live.open(reply)) : await commandStatus.execute(commandId);
      if (!status) return notFound(request, reply, 'command', request.params.commandId);
      return status;
    },
  );

  app.get(
    '/v1/orders/:orderId',
    {
      schema: {
        summary: 'Get an order',
        description: 'Answers 404 until the PlaceOrder command has been processed.',
        tags: ['queries'],
        security: BEARER_SECURITY,
        params: z.object({ orderId: uuidParam() }),
        response: { 200: orderDto, ...problemResponses(400, 401, 404) },
      },
    },
    async (request, reply) => {
      const order = await readModel.findOrder(request.params.orderId);
      if (!order) return notFound(request, reply, 'order', request.params.orderId);
      return order;
    },
  );

  app.get(
    '/v1/users/:userId/orders',
    {
      schema: {
        summary: "List a user's orders",
        tags: ['queries'],
        security: BEARER_SECURITY,
        params: z.object({ userId: uuidParam() }),
        querystring: z.object({
          page: pageParam(1_000_000, 1),
          pageSize: pageParam(MAX_PAGE_SIZE, 20),
        }),
        response: { 200: orderPageDto, ...problemResponses(400, 401) },
      },
    },
    async (request) => readModel.listUserOrders(request.params.userId, request.query.page, request.query.pageSize),
  );

  app.get(
    '/v1/users/:userId/order-summary',
    {
      schema: {
        summary: "Summarise a user's orders",
        description: 'Orders placed in [from, to); cancelled orders are not counted as spent.',
        tags: ['queries'],
        security: BEARER_SECURITY,
        params: z.object({ userId: uuidParam() }),
        querystring: summaryQuery,
        response: { 200: orderSummaryDto, ...problemResponses(400, 401) },
      },
    },
    async (request) => {
      const { from, to } = request.query;
      return readModel.userOrderSummary(
        request.params.userId,
        from === undefined ? null : new Date(from),
        to === undefined ? null : new Date(to),
      );
    },
  );

  app.get(
    '/v1/products/:productId',
    {
      schema: {
        summary: 'Get a product with its current stock',
        tags: ['queries'],
        security: BEARER_SECURITY,
        params: z.object({ productId: uuidParam() }),
        response: { 200: productDto, ...problemResponses(400, 401, 404) },
      },
    },
    async (request, reply) => {
      const product = await readModel.findProduct(request.params.productId);
      if (!product) return notFound(request, reply, 'product', request.params.productId);
      return product;
    },
  );
};
