import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { CommandNotCancellableError } from '../../application/commerce/errors.js';
import type { GetCommandStatus } from '../../application/commerce/queries/get-command-status.js';
import type { StatusChange, WatchCommand } from '../../application/commerce/queries/watch-command.js';
import type { CancelCommand } from '../../application/commerce/use-cases/cancel-command.js';
import type { LiveRequests } from '../live.js';
import { notFound, problemResponses, problemType, sendProblem } from '../problem.js';
import { BEARER_SECURITY, commandStatusDto, uuidParam } from '../schemas.js';

export interface CommandLifecycleRoutesOptions {
  commandStatus: GetCommandStatus;
  cancel: CancelCommand;
  watch: WatchCommand;
  live: LiveRequests;
  /** How often an idle event stream sends a comment line, so proxies do not close it. Default 15 s. */
  heartbeatMs?: number;
}

/** Sent first on every stream: how long an EventSource waits before it reconnects. */
const RETRY_MS = 1000;

const EVENTS_DESCRIPTION = `Server-Sent Events: one event per status change, in order, the command's status as it is first
(\`event: <status>\`, \`data: <the status as GET /v1/commands/{commandId} answers it>\`, \`id: <n>\`);
the stream ends after the final one (succeeded, failed or cancelled). Each event id is the status's place in the
command's life, the same on every replica: reconnect with \`Last-Event-ID: <n>\` to get only what came after.`;

/** What a client may do with a command after intake: cancel it, follow it live. */
export const commandLifecycleRoutes: FastifyPluginAsyncZod<CommandLifecycleRoutesOptions> = async (app, options) => {
  const { commandStatus, cancel, watch, live } = options;
  const heartbeatMs = options.heartbeatMs ?? 15_000;

  app.delete(
    '/v1/commands/:commandId',
    {
      // Cancelling is acting on a command, as sending one is; the status and events are queries.
      config: { scope: 'commands:write' },
      schema: {
        summary: 'Cancel a command that has not started',
        description:
          'A queued or scheduled command is cancelled (200, status "cancelled") and never runs. A running, ' +
          'succeeded or failed one answers 409 with its status in `commandStatus`.',
        tags: ['commands'],
        security: BEARER_SECURITY,
        params: z.object({ commandId: uuidParam() }),
        response: { 200: commandStatusDto.describe('cancelled'), ...problemResponses(400, 401, 404, 409, 503) },
      },
    },
    async (request, reply) => {
      try {
        return await cancel.execute(request.params.commandId);
      } catch (error) {
        if (!(error instanceof CommandNotCancellableError)) throw error;
        return sendProblem(request, reply, {
          status: 409,
          type: problemType(error.code),
          detail: error.message,
          code: error.code,
          extensions: { commandStatus: error.status },
        });
      }
    },
  );

  app.get(
    '/v1/commands/:commandId/events',
    {
      schema: {
        summary: 'Follow a command live (Server-Sent Events)',
        description: EVENTS_DESCRIPTION,
        tags: ['queries'],
        security: BEARER_SECURITY,
        params: z.object({ commandId: uuidParam() }),
        headers: z.looseObject({
          'last-event-id': z.string().regex(/^\d{1,9}$/, 'must be an event id of this stream').optional(),
        }),
        response: {
          200: {
            description: 'text/event-stream of the command\'s statuses, closed after the final one',
            content: { 'text/event-stream': { schema: z.string() } },
          },
          ...problemResponses(400, 401, 404),
        },
      },
    },
    async (request, reply) => {
      const { commandId } = request.params;
      if (!(await commandStatus.execute(commandId))) {
        return notFound(request, reply, 'command', commandId);
      }
      const lastEventId = request.headers['last-event-id'];
      const after = typeof lastEventId === 'string' ? Number(lastEventId) : -1;
      const stop = live.open(reply);
      reply.hijack();
      const raw = reply.raw;
      raw.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache',
        // No buffering by a reverse proxy (nginx honours this header).
        'x-accel-buffering': 'no',
      });
      raw.write(`retry: ${RETRY_MS}\n\n`);
      const heartbeat = setInterval(() => raw.write(': keep-alive\n\n'), heartbeatMs);
      const send = ({ sequence, status }: StatusChange) => {
        raw.write(`id: ${sequence}\nevent: ${status.status}\ndata: ${JSON.stringify(status)}\n\n`);
      };
      try {
        await watch.follow(commandId, after, send, stop);
      } catch (error) {
        request.log.warn({ err: error, commandId }, 'command event stream failed');
      } finally {
        clearInterval(heartbeat);
        raw.end();
      }
    },
  );
};
