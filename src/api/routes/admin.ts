import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import type { Queue } from 'bullmq';
import type { FastifyPluginAsync } from 'fastify';
import { basicAuth } from '../auth.js';

export interface AdminRoutesOptions {
  queues: readonly Queue[];
  admin: { user: string; password: string };
  /** Where Bull Board is mounted. */
  basePath: string;
}

/** Bull Board, behind HTTP basic auth (ADMIN_USER / ADMIN_PASSWORD). */
export const adminRoutes: FastifyPluginAsync<AdminRoutesOptions> = async (app, options) => {
  const serverAdapter = new FastifyAdapter();
  serverAdapter.setBasePath(options.basePath);
  createBullBoard({
    queues: options.queues.map((queue) => new BullMQAdapter(queue)),
    serverAdapter,
    options: { uiConfig: { boardTitle: 'conveyor' } },
  });
  // The hook is added before Bull Board registers, so it guards every one of its routes,
  // static files included.
  app.addHook('onRequest', basicAuth(options.admin));
  await app.register(serverAdapter.registerPlugin(), { prefix: options.basePath });
};
