import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import { jsonSchemaTransform } from 'fastify-type-provider-zod';

export const DOCS_PREFIX = '/docs';

/**
 * The OpenAPI document, generated from the routes' zod schemas (the command bodies are those
 * of queues/), at /docs/json, with Swagger UI at /docs. Register before the routes: the
 * document is collected as they are added.
 */
export async function registerDocs(app: FastifyInstance, hiddenPrefixes: readonly string[]): Promise<void> {
  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'conveyor',
        description:
          'Intake API of conveyor: commands are validated and queued (202), then processed by workers; ' +
          'follow them at /v1/commands/{commandId}. Errors are RFC 9457 problem details.',
        version: '1.0.0',
      },
      components: {
        securitySchemes: {
          bearerAuth: { type: 'http', scheme: 'bearer', description: 'an API key (npm run keys -- create); each route needs one scope, named in its description' },
        },
      },
      tags: [
        { name: 'commands', description: 'asynchronous: 202 and a status URL' },
        { name: 'queries', description: 'the read side' },
        { name: 'webhooks', description: 'endpoint subscriptions and their deliveries (Standard Webhooks)' },
        { name: 'schedules', description: 'recurring schedules: a command run every N seconds or on a cron expression' },
        { name: 'emails', description: 'what became of each email, and resends' },
        { name: 'operations', description: 'health checks' },
      ],
    },
    transform: (document) => {
      if (hiddenPrefixes.some((prefix) => document.url.startsWith(prefix))) {
        return { schema: { hide: true }, url: document.url };
      }
      return jsonSchemaTransform(document);
    },
  });
  await app.register(fastifySwaggerUi, { routePrefix: DOCS_PREFIX });
}
