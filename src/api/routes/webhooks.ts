import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { WebhookEndpointDto } from '../../application/webhooks/list-webhook-endpoints.js';
import type { WebhookManagement } from '../../application/webhooks/management.js';
import type { WebhookDeliveryView } from '../../application/webhooks/ports.js';
import { problemResponses } from '../problem.js';
import {
  BEARER_SECURITY,
  createWebhookEndpointBody,
  createdWebhookEndpointDto,
  emptyBody,
  replayAcceptedDto,
  replayDeliveriesAcceptedDto,
  replayDeliveriesBody,
  rotatedWebhookSecretDto,
  testWebhookAcceptedDto,
  updateWebhookEndpointBody,
  uuidParam,
  webhookDeliveriesQuery,
  webhookDeliveryListDto,
  webhookEndpointDto,
  webhookEndpointListDto,
} from '../schemas.js';

export interface WebhookRoutesOptions {
  webhooks: WebhookManagement;
}

const ENDPOINTS = '/v1/webhook-endpoints';
const TAGS = ['webhooks'];

const endpointParams = z.object({ id: uuidParam() });

/** Lets a POST whose schema is `emptyBody` come without a body; a JSON `null` is still refused (400). */
const noBodyIsEmpty = async (request: { body: unknown }) => {
  if (request.body === undefined) request.body = {};
};

/**
 * Webhook subscriptions (docs/design.md §3): synchronous, straight to the use cases. Their errors
 * (unknown endpoint or delivery, refused URL, disabled endpoint) are mapped to problems by the
 * app's error handler.
 */
export const webhookRoutes: FastifyPluginAsyncZod<WebhookRoutesOptions> = async (app, options) => {
  const { webhooks } = options;

  app.post(
    ENDPOINTS,
    {
      schema: {
        summary: 'Subscribe a URL to webhook events',
        description:
          'Answers the signing secret ("whsec_…") once; it is never shown again. A URL whose host is or ' +
          'resolves to a non-public address is refused with 400 (code webhook_url_not_allowed).',
        tags: TAGS,
        security: BEARER_SECURITY,
        body: createWebhookEndpointBody,
        response: { 201: createdWebhookEndpointDto, ...problemResponses(400, 401, 413, 415) },
      },
    },
    async (request, reply) => {
      const created = await webhooks.createEndpoint.execute(request.body);
      return reply
        .code(201)
        .header('location', `${ENDPOINTS}/${created.id}`)
        .send({
          id: created.id,
          url: created.url,
          eventTypes: created.eventTypes,
          deliveryRate: created.deliveryRate,
          secret: created.secret,
          createdAt: created.createdAt.toISOString(),
        });
    },
  );

  app.get(
    ENDPOINTS,
    {
      schema: {
        summary: 'List webhook endpoints',
        description: 'Endpoints not deleted, oldest first; secrets are never listed.',
        tags: TAGS,
        security: BEARER_SECURITY,
        response: { 200: webhookEndpointListDto, ...problemResponses(401) },
      },
    },
    async () => ({ items: (await webhooks.listEndpoints.execute()).map(endpointJson) }),
  );

  app.get(
    `${ENDPOINTS}/:id`,
    {
      schema: {
        summary: 'Get a webhook endpoint',
        description: 'Without its secret; 404 when unknown or deleted.',
        tags: TAGS,
        security: BEARER_SECURITY,
        params: endpointParams,
        response: { 200: webhookEndpointDto, ...problemResponses(400, 401, 404) },
      },
    },
    async (request) => endpointJson(await webhooks.getEndpoint.execute(request.params.id)),
  );

  app.delete(
    `${ENDPOINTS}/:id`,
    {
      schema: {
        summary: 'Delete a webhook endpoint',
        description: 'It receives no new deliveries; its pending ones fail unsent. Its deliveries stay readable.',
        tags: TAGS,
        security: BEARER_SECURITY,
        params: endpointParams,
        response: { 204: z.null().describe('deleted'), ...problemResponses(400, 401, 404) },
      },
    },
    async (request, reply) => {
      await webhooks.deleteEndpoint.execute(request.params.id);
      return reply.code(204).send(null);
    },
  );

  app.patch(
    `${ENDPOINTS}/:id`,
    {
      schema: {
        summary: 'Change a webhook endpoint',
        description:
          'Changes the URL (checked by the SSRF guard as at registration: 400 webhook_url_not_allowed), the ' +
          'event types, whether it is enabled, or its delivery rate. enabled: true re-enables an endpoint disabled ' +
          'by a 410, by WEBHOOK_DISABLE_AFTER or through the API, clearing its disable reason and time. A new ' +
          'deliveryRate (null: back to WEBHOOK_DELIVERY_RATE) applies at once, to the deliveries already waiting ' +
          'for a slot too. Answers the endpoint.',
        tags: TAGS,
        security: BEARER_SECURITY,
        params: endpointParams,
        body: updateWebhookEndpointBody,
        response: { 200: webhookEndpointDto, ...problemResponses(400, 401, 404, 413, 415) },
      },
    },
    async (request) =>
      endpointJson(await webhooks.updateEndpoint.execute({ endpointId: request.params.id, ...request.body })),
  );

  app.post(
    `${ENDPOINTS}/:id/rotate-secret`,
    {
      schema: {
        summary: "Rotate a webhook endpoint's signing secret",
        description:
          'Answers the new secret once. For WEBHOOK_SECRET_OVERLAP (24 h) after the rotation every delivery ' +
          'carries two signatures in webhook-signature, with the new and the previous secret; then the new one only.',
        tags: TAGS,
        security: BEARER_SECURITY,
        params: endpointParams,
        body: emptyBody,
        response: { 200: rotatedWebhookSecretDto, ...problemResponses(400, 401, 404, 415) },
      },
      preValidation: noBodyIsEmpty,
    },
    async (request) => {
      const rotated = await webhooks.rotateSecret.execute(request.params.id);
      return {
        id: rotated.id,
        secret: rotated.secret,
        previousSecretExpiresAt: rotated.previousSecretExpiresAt.toISOString(),
      };
    },
  );

  app.post(
    `${ENDPOINTS}/:id/test`,
    {
      schema: {
        summary: 'Send a webhook.test event to an endpoint',
        description:
          'To that endpoint only, whatever it subscribed to: a delivery like the others (signed, retried, listed ' +
          'with its deliveries). 409 when the endpoint is disabled.',
        tags: TAGS,
        security: BEARER_SECURITY,
        params: endpointParams,
        body: emptyBody,
        response: { 202: testWebhookAcceptedDto, ...problemResponses(400, 401, 404, 409, 415) },
      },
      preValidation: noBodyIsEmpty,
    },
    async (request, reply) => {
      const sent = await webhooks.sendTest.execute(request.params.id);
      return reply.code(202).send({ ...sent, status: 'pending' as const });
    },
  );

  app.post(
    `${ENDPOINTS}/:id/replay`,
    {
      schema: {
        summary: "Replay an endpoint's deliveries in bulk",
        description:
          'Every delivery of the endpoint in the given status created at or after `since` becomes pending and is ' +
          'queued again (a fresh retry schedule, the same webhook-id). Idempotent: a delivery already queued ' +
          'again is pending and not queued twice. Deliveries whose attempt is running are left out. 409 when the ' +
          'endpoint is disabled.',
        tags: TAGS,
        security: BEARER_SECURITY,
        params: endpointParams,
        body: replayDeliveriesBody,
        response: { 202: replayDeliveriesAcceptedDto, ...problemResponses(400, 401, 404, 409, 413, 415) },
      },
    },
    async (request, reply) => {
      const endpointId = request.params.id;
      const { queued } = await webhooks.replayDeliveries.execute({
        endpointId,
        status: request.body.status,
        since: new Date(request.body.since),
      });
      return reply.code(202).send({ endpointId, queued });
    },
  );

  app.get(
    `${ENDPOINTS}/:id/deliveries`,
    {
      schema: {
        summary: "List an endpoint's deliveries",
        description: 'The latest deliveries, newest first, each with its attempts and when the next one is due.',
        tags: TAGS,
        security: BEARER_SECURITY,
        params: endpointParams,
        querystring: webhookDeliveriesQuery,
        response: { 200: webhookDeliveryListDto, ...problemResponses(400, 401, 404) },
      },
    },
    async (request) => {
      const deliveries = await webhooks.listDeliveries.execute({
        endpointId: request.params.id,
        status: request.query.status,
        limit: request.query.limit,
      });
      return { items: deliveries.map(deliveryJson) };
    },
  );

  app.post(
    '/v1/webhook-deliveries/:deliveryId/replay',
    {
      schema: {
        summary: 'Send a webhook delivery again',
        description:
          'Whatever its status: it becomes pending and is queued again with a fresh retry schedule and the ' +
          'same webhook-id. 409 when its endpoint was disabled (it answered 410 Gone), or while an attempt ' +
          'of it is running.',
        tags: TAGS,
        security: BEARER_SECURITY,
        params: z.object({ deliveryId: uuidParam() }),
        response: { 202: replayAcceptedDto, ...problemResponses(400, 401, 404, 409) },
      },
    },
    async (request, reply) => {
      const { deliveryId } = request.params;
      await webhooks.replayDelivery.execute(deliveryId);
      return reply.code(202).send({ deliveryId, status: 'pending' as const });
    },
  );
};

function endpointJson(endpoint: WebhookEndpointDto) {
  return {
    id: endpoint.id,
    url: endpoint.url,
    eventTypes: endpoint.eventTypes,
    deliveryRate: endpoint.deliveryRate,
    enabled: endpoint.enabled,
    disabledReason: endpoint.disabledReason,
    disabledAt: endpoint.disabledAt?.toISOString() ?? null,
    failingSince: endpoint.failingSince?.toISOString() ?? null,
    previousSecretExpiresAt: endpoint.previousSecretExpiresAt?.toISOString() ?? null,
    createdAt: endpoint.createdAt.toISOString(),
  };
}

function deliveryJson(delivery: WebhookDeliveryView) {
  return {
    ...delivery,
    nextAttemptAt: delivery.nextAttemptAt?.toISOString() ?? null,
    createdAt: delivery.createdAt.toISOString(),
    deliveredAt: delivery.deliveredAt?.toISOString() ?? null,
    attemptLog: delivery.attemptLog.map((attempt) => ({ ...attempt, attemptedAt: attempt.attemptedAt.toISOString() })),
  };
}
