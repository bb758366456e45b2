import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { PROBLEM_CONTENT_TYPE, problemSchema, sendProblem } from '../problem.js';

export interface HealthRoutesOptions {
  /** Named readiness checks (postgres, redis, ...): resolve when ready, throw otherwise. */
  readiness: Record<string, () => Promise<void>>;
  /** A check that takes longer than this counts as failed. */
  checkTimeoutMs?: number;
}

const checkResults = z.record(z.string(), z.enum(['ok', 'failed']));

/** Liveness and readiness for load balancers and orchestrators; no API key needed. */
export const healthRoutes: FastifyPluginAsyncZod<HealthRoutesOptions> = async (app, options) => {
  const timeoutMs = options.checkTimeoutMs ?? 2000;

  app.get(
    '/health/live',
    {
      schema: {
        summary: 'The process is up',
        tags: ['operations'],
        response: { 200: z.object({ status: z.literal('ok') }) },
      },
    },
    async () => ({ status: 'ok' as const }),
  );

  app.get(
    '/health/ready',
    {
      schema: {
        summary: 'Every dependency (PostgreSQL, Redis) is reachable',
        tags: ['operations'],
        response: {
          200: z.object({ status: z.literal('ok'), checks: checkResults }),
          503: {
            description: 'not ready: `checks` says which dependency failed',
            content: { [PROBLEM_CONTENT_TYPE]: { schema: problemSchema.extend({ checks: checkResults }) } },
          },
        },
      },
    },
    async (request, reply) => {
      const entries = await Promise.all(
        Object.entries(options.readiness).map(async ([name, check]) => {
          try {
            await withTimeout(check(), timeoutMs);
            return [name, 'ok'] as const;
          } catch (error) {
            request.log.warn({ err: error, check: name }, 'readiness check failed');
            return [name, 'failed'] as const;
          }
        }),
      );
      const checks = Object.fromEntries(entries);
      const failed = entries.filter(([, result]) => result === 'failed').map(([name]) => name);
      if (failed.length === 0) return { status: 'ok' as const, checks };
      return sendProblem(request, reply, {
        status: 503,
        detail: `Not ready: ${failed.join(', ')} failed.`,
        extensions: { checks },
      });
    },
  );
};

async function withTimeout(promise: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
