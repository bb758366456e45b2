import type { FastifyReply, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import {
  type CommandPayload,
  type PublicCommandType,
  PUBLIC_COMMAND_TYPES,
  addProductBody,
  cancelOrderBody,
  commandPayloads,
  emptyBody,
  placeOrderBody,
  registerUserBody,
  restockProductBody,
} from '../../../queues/index.js';
import type { CommandCeiling } from '../load-shedding.js';
import { IdempotencyKeys, type StoredResponse, idempotencyKeyHeader } from '../idempotency.js';
import type { SentBy } from '../../../queues/index.js';
import type { CommandSender } from '../ports.js';
import { problemResponses, problemType, sendProblem } from '../problem.js';
import { parseRfc3339, runAtHeader, runAtWindowProblem } from '../run-at.js';
import { BEARER_SECURITY, uuidParam } from '../schemas.js';

export interface CommandRoutesOptions {
  commands: CommandSender;
  /** Above MAX_QUEUED_COMMANDS the routes answer 503 instead of queueing. */
  ceiling: CommandCeiling;
  idempotency: IdempotencyKeys;
  newId: () => string;
}

type AggregateIdField = 'userId' | 'productId' | 'orderId';

interface CommandRoute {
  type: PublicCommandType;
  url: string;
  summary: string;
  body: z.ZodType;
  /** The aggregate id returned with the answer. */
  id: AggregateIdField;
  /** True when the id comes from the path; otherwise a new UUIDv7 is assigned at intake. */
  idInPath: boolean;
}

/**
 * docs/design.md §3: the route of each public command type (a missing one is a compile error), its body
 * schema (from queues/) and the ids it returns.
 */
const COMMAND_ROUTES: { readonly [T in PublicCommandType]: Omit<CommandRoute, 'type'> } = {
  RegisterUser: { url: '/v1/users', summary: 'Register a user', body: registerUserBody, id: 'userId', idInPath: false },
  AddProduct: { url: '/v1/products', summary: 'Add a product', body: addProductBody, id: 'productId', idInPath: false },
  RestockProduct: {
    url: '/v1/products/:productId/restock',
    summary: 'Restock a product',
    body: restockProductBody,
    id: 'productId',
    idInPath: true,
  },
  PlaceOrder: { url: '/v1/orders', summary: 'Place an order', body: placeOrderBody, id: 'orderId', idInPath: false },
  ConfirmOrder: {
    url: '/v1/orders/:orderId/confirm',
    summary: 'Confirm an order',
    body: emptyBody,
    id: 'orderId',
    idInPath: true,
  },
  ShipOrder: { url: '/v1/orders/:orderId/ship', summary: 'Ship an order', body: emptyBody, id: 'orderId', idInPath: true },
  DeliverOrder: {
    url: '/v1/orders/:orderId/deliver',
    summary: 'Mark an order delivered',
    body: emptyBody,
    id: 'orderId',
    idInPath: true,
  },
  CancelOrder: {
    url: '/v1/orders/:orderId/cancel',
    summary: 'Cancel an order',
    body: cancelOrderBody,
    id: 'orderId',
    idInPath: true,
  },
};

const RETRY_AFTER_SECONDS = '5';

function acceptedSchema(id: AggregateIdField) {
  return z.object({
    commandId: z.uuid(),
    statusUrl: z.string().describe('where to follow the command: GET it'),
    [id]: z.uuid(),
  });
}

/**
 * The asynchronous command routes: validate, assign ids, enqueue, answer 202. The job is
 * processed by the command worker; the client follows `statusUrl`.
 */
export const commandRoutes: FastifyPluginAsyncZod<CommandRoutesOptions> = async (app, options) => {
  const { commands, ceiling, idempotency, newId } = options;

  for (const type of PUBLIC_COMMAND_TYPES) {
    const route: CommandRoute = { type, ...COMMAND_ROUTES[type] };
    const params = route.idInPath ? z.object({ [route.id]: uuidParam() }) : undefined;

    app.post(
      route.url,
      {
        schema: {
          summary: route.summary,
          tags: ['commands'],
          security: BEARER_SECURITY,
          ...(params ? { params } : {}),
          headers: z.looseObject({ 'idempotency-key': idempotencyKeyHeader.optional(), 'run-at': runAtHeader.optional() }),
          body: route.body,
          response: {
            202: acceptedSchema(route.id).describe('accepted: the command is queued (scheduled, with Run-At)'),
            ...problemResponses(400, 401, 413, 415, 422, 429, 503),
          },
        },
        // After validation (a malformed request still learns what is wrong with it), before
        // anything is reserved or queued.
        preHandler: ceiling.shedWhenFull,
        // Commands without fields may be sent without a body at all; a JSON `null` is a body,
        // and like any other non-object it is refused by the schema (400).
        preValidation: async (request) => {
          if (route.body === emptyBody && request.body === undefined) request.body = {};
        },
      },
      async (request, reply) => {
        const pathParams = request.params as Record<string, string>;
        const pathId = route.idInPath ? pathParams[route.id] : undefined;
        const commandId = newId();
        const fresh: StoredResponse = {
          statusCode: 202,
          body: { commandId, statusUrl: `/v1/commands/${commandId}`, [route.id]: pathId ?? newId() },
        };
        // Built before anything is reserved or sent: a payload the contract refuses is a bug
        // here (500), not an unavailable queue.
        const freshPayload = payloadFor(route, request.body, fresh);
        // The schema checked the syntax; whether it is in the window depends on when it is asked.
        const runAtText = request.headers['run-at'];
        const runAt = typeof runAtText === 'string' ? (parseRfc3339(runAtText) ?? undefined) : undefined;
        const enqueue = (payload: CommandPayload) =>
          trySend(request, reply, () => commands.send(route.type, payload, { runAt, sentBy: sentBy(request), newAggregate: !route.idInPath }));

        const key = request.headers['idempotency-key'];
        if (typeof key !== 'string') {
          // No key: nothing to fingerprint (the canonical body and its SHA-256 are for keys only).
          if (runAt && (await refusedRunAt(request, reply, runAt, null))) return reply;
          if (!(await enqueue(freshPayload))) return reply;
          return answer(request, reply, route, fresh, false);
        }
        const path = pathId === undefined ? route.url : route.url.replace(`:${route.id}`, pathId);
        const fingerprint = IdempotencyKeys.fingerprint('POST', path, request.body, runAt);
        const scope = { callerId: request.callerId, route: `POST ${route.url}`, key };
        if (runAt && (await refusedRunAt(request, reply, runAt, () => idempotency.isReplay(scope, fingerprint)))) return reply;

        let reservation;
        try {
          reservation = await idempotency.reserve(scope, fingerprint, fresh);
        } catch (error) {
          return unavailable(request, reply, error);
        }
        switch (reservation.kind) {
          case 'mismatch':
            return sendProblem(request, reply, {
              status: 422,
              type: problemType('idempotency-key-reused'),
              title: 'Idempotency-Key reused',
              detail: 'This Idempotency-Key was already used with a different request.',
            });
          case 'completed':
            return answer(request, reply, route, reservation.response, true);
          case 'in-flight':
            if (!(await enqueue(payloadFor(route, request.body, reservation.response)))) return reply;
            await markCompleted(request, reservation.complete);
            return answer(request, reply, route, reservation.response, true);
          case 'reserved':
            // On failure the reservation is kept on purpose: a connection lost mid-add may
            // still have queued the job, so a retry with this key must send the SAME command
            // id again ('in-flight' above: a no-op if the job exists) rather than a new one.
            if (!(await enqueue(freshPayload))) return reply;
            await markCompleted(request, reservation.complete);
            return answer(request, reply, route, fresh, false);
        }
      },
    );
  }
};

/**
 * Answers 400 (or 503) and returns true when `runAt` cannot be used now: past, or more than 366
 * days ahead. A retry with the Idempotency-Key of a request accepted while its Run-At was still
 * ahead (`isReplay`) is let through, to get the first answer.
 */
async function refusedRunAt(
  request: FastifyRequest,
  reply: FastifyReply,
  runAt: Date,
  isReplay: (() => Promise<boolean>) | null,
): Promise<boolean> {
  const problem = runAtWindowProblem(runAt, new Date());
  if (problem === null) return false;
  try {
    if (isReplay && (await isReplay())) return false;
  } catch (error) {
    unavailable(request, reply, error);
    return true;
  }
  sendProblem(request, reply, {
    status: 400,
    type: problemType('validation-error'),
    title: 'Invalid request',
    detail: 'Invalid request headers: see "errors".',
    errors: [{ in: 'headers', path: 'run-at', message: problem }],
  });
  return true;
}

/** The job payload: the validated body plus the ids, checked against the queue contract. */
function payloadFor(route: CommandRoute, body: unknown, response: StoredResponse): CommandPayload {
  return commandPayloads[route.type].parse({
    ...(body as Record<string, unknown>),
    commandId: response.body.commandId,
    [route.id]: response.body[route.id],
  });
}

/**
 * Sends the 202 and logs the command with its ids: the first line of the trail a command
 * leaves (the worker, relay, mailer and webhooks log the same commandId, eventIds and row ids).
 */
function answer(
  request: FastifyRequest,
  reply: FastifyReply,
  route: CommandRoute,
  response: StoredResponse,
  replayed: boolean,
): FastifyReply {
  const { commandId } = response.body;
  const runAt = request.headers['run-at'];
  request.log.info(
    {
      commandId,
      jobId: commandId,
      commandType: route.type,
      [route.id]: response.body[route.id],
      replayed,
      ...(runAt ? { runAt } : {}),
    },
    replayed ? 'command answered again (Idempotency-Key)' : 'command accepted',
  );
  const location = response.body.statusUrl;
  if (location !== undefined) reply.header('location', location);
  if (replayed) reply.header('idempotent-replayed', 'true');
  return reply.code(response.statusCode).send(response.body);
}

/** The key that sends the command, recorded with it (its name is what the status and logs show). */
function sentBy(request: FastifyRequest): SentBy | undefined {
  const principal = request.principal;
  return principal ? { keyId: principal.keyId, name: principal.name } : undefined;
}

/**
 * The job is on the queue, so the answer is 202 even if the record cannot be marked completed:
 * the pending record still holds the ids, and a retry sends the same job id again (a no-op).
 */
async function markCompleted(request: FastifyRequest, complete: () => Promise<void>): Promise<void> {
  try {
    await complete();
  } catch (error) {
    request.log.warn({ err: error }, 'could not mark the idempotency record completed');
  }
}

/** Runs `send`; on failure answers 503 and returns false. */
async function trySend(request: FastifyRequest, reply: FastifyReply, send: () => Promise<void>): Promise<boolean> {
  try {
    await send();
    return true;
  } catch (error) {
    unavailable(request, reply, error);
    return false;
  }
}

function unavailable(request: FastifyRequest, reply: FastifyReply, error: unknown): FastifyReply {
  request.log.error({ err: error }, 'could not enqueue the command');
  return sendProblem(
    request,
    reply,
    {
      status: 503,
      type: problemType('queue-unavailable'),
      detail:
        'The command queue did not confirm the command, so it may or may not run. Retry later with the same Idempotency-Key to be safe.',
    },
    { 'retry-after': RETRY_AFTER_SECONDS },
  );
}
