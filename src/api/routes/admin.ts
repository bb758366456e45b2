import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import type { Queue } from 'bullmq';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { basicAuth } from '../auth.js';
import type { LoginThrottle } from '../ports.js';
import { problemType, sendProblem } from '../problem.js';

export interface AdminRoutesOptions {
  queues: readonly Queue[];
  admin: { user: string; password: string };
  /** Counts failed logins per client IP (Redis, so across web replicas). */
  loginThrottle: LoginThrottle;
  /** Where Bull Board is mounted. */
  basePath: string;
}

/** Methods that read; everything else under the board changes queues or jobs. */
const READ_METHODS = new Set(['GET', 'HEAD']);

/**
 * Bull Board, read-only, behind HTTP basic auth (ADMIN_USER / ADMIN_PASSWORD) with failed
 * logins throttled (docs/adr/0014-bull-board-read-only.md). Operators change jobs through the
 * API (POST /v1/commands/retry, …), where every change has a key's name on it.
 */
export const adminRoutes: FastifyPluginAsync<AdminRoutesOptions> = async (app, options) => {
  const serverAdapter = new FastifyAdapter();
  serverAdapter.setBasePath(options.basePath);
  createBullBoard({
    // readOnlyMode: the UI shows no write actions, and Bull Board answers 405 to the write routes
    // of a queue (retry, clean, promote, pause, obliterate, add, update data …).
    queues: options.queues.map((queue) => new BullMQAdapter(queue, { readOnlyMode: true })),
    serverAdapter,
    options: { uiConfig: { boardTitle: 'conveyor' } },
  });
  // The hooks are added before Bull Board registers, so they guard every one of its routes,
  // static files included. Login first: an anonymous caller learns nothing, not even that
  // writes are refused.
  app.addHook('onRequest', basicAuth(options.admin, options.loginThrottle));
  // Bull Board's own read-only check lives in each write handler (and "pause all" answers 200
  // doing nothing); this refuses every write method before any handler runs, so a write route
  // that a later Bull Board version adds without the check is refused too.
  app.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
    if (READ_METHODS.has(request.method)) return;
    return sendProblem(
      request,
      reply,
      {
        status: 403,
        type: problemType('queue-dashboard-read-only'),
        detail: 'The queue dashboard is read-only: retry commands that gave up with POST /v1/commands/retry (one command: filter on its commandId).',
      },
      { allow: 'GET, HEAD' },
    );
  });
  await app.register(serverAdapter.registerPlugin(), { prefix: options.basePath });
};
