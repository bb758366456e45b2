import type { FastifyInstance } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { ApiMetrics } from '../ports.js';

/**
 * Times every answered request by method, route pattern and status. A request that matched
 * no route is labelled `(unmatched)`: raw URLs would make one time series per probe of a
 * scanner.
 */
export function recordRequestMetrics(app: FastifyInstance, metrics: ApiMetrics): void {
  app.addHook('onResponse', async (request, reply) => {
    metrics.observeRequest(request.method, request.routeOptions.url ?? '(unmatched)', reply.statusCode, reply.elapsedTime / 1000);
  });
}

/** GET /metrics: Prometheus text, no API key (docs/design.md §3). */
export const metricsRoute: FastifyPluginAsyncZod<{ metrics: ApiMetrics }> = async (app, options) => {
  const { metrics } = options;
  app.get(
    '/metrics',
    {
      schema: {
        summary: 'Prometheus metrics of this process (text exposition format)',
        tags: ['operations'],
        produces: ['text/plain'],
      },
    },
    async (_request, reply) => {
      const text = await metrics.render();
      return reply.type(metrics.contentType).send(text);
    },
  );
};
