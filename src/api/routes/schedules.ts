import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { GetCommandStatus } from '../../application/commerce/queries/get-command-status.js';
import type { CommandJobs, ReadModel } from '../../application/commerce/queries/read-model.js';
import type { ScheduleManagement } from '../../application/scheduling/management.js';
import type { ScheduleView } from '../../application/scheduling/schedule.js';
import { problemResponses } from '../problem.js';
import {
  BEARER_SECURITY,
  createScheduleBody,
  everySeconds,
  scheduleDto,
  scheduleListDto,
  scheduleRunListDto,
  scheduleRunsQuery,
  uuidParam,
} from '../schemas.js';

export interface ScheduleRoutesOptions {
  schedules: ScheduleManagement;
  /** Each run is an ordinary command: its status is read as GET /v1/commands/{commandId} reads it. */
  readModel: ReadModel;
  commandJobs: CommandJobs;
}

const SCHEDULES = '/v1/schedules';
const TAGS = ['schedules'];

const scheduleParams = z.object({ id: uuidParam() });

/**
 * Recurring schedules (docs/design.md §3), an operator's API: synchronous, straight to the use
 * cases. Their errors (unknown schedule, refused schedule) are mapped to problems by the app's
 * error handler.
 */
export const scheduleRoutes: FastifyPluginAsyncZod<ScheduleRoutesOptions> = async (app, options) => {
  const { schedules } = options;
  const commandStatus = new GetCommandStatus(options.readModel, options.commandJobs);

  app.post(
    SCHEDULES,
    {
      // A schedule sends commands: creating one needs what sending them needs.
      config: { scope: ['operations', 'commands:write'] },
      schema: {
        summary: 'Create a recurring schedule',
        description:
          'Runs a command every N seconds or on a 5-field cron expression. Each run is an ordinary command with ' +
          'its own id, listed under the schedule. A schedule of a command whose body its route would refuse, or ' +
          'with a bad "every", "cron" or "timezone", is refused with 400. Schedulable: RestockProduct, PlaceOrder ' +
          '(a new order at every run), ConfirmOrder, ShipOrder, DeliverOrder, CancelOrder.',
        tags: TAGS,
        security: BEARER_SECURITY,
        body: createScheduleBody,
        response: { 201: scheduleDto, ...problemResponses(400, 401, 413, 415, 503) },
      },
    },
    async (request, reply) => {
      const { every, ...rest } = request.body;
      const created = await schedules.createSchedule.execute({ ...rest, every: everySeconds(every) });
      const nextRunAt = await schedules.getSchedule.execute(created.id).then(
        (view) => view.nextRunAt,
        () => null,
      );
      return reply
        .code(201)
        .header('location', `${SCHEDULES}/${created.id}`)
        .send(scheduleJson({ ...created, nextRunAt }));
    },
  );

  app.get(
    SCHEDULES,
    {
      schema: {
        summary: 'List recurring schedules',
        description: 'Oldest first, each with when its next run is due.',
        tags: TAGS,
        security: BEARER_SECURITY,
        response: { 200: scheduleListDto, ...problemResponses(401, 503) },
      },
    },
    async () => ({ items: (await schedules.listSchedules.execute()).map(scheduleJson) }),
  );

  app.get(
    `${SCHEDULES}/:id`,
    {
      schema: {
        summary: 'Get a recurring schedule',
        description: 'With when its next run is due; 404 when unknown or deleted.',
        tags: TAGS,
        security: BEARER_SECURITY,
        params: scheduleParams,
        response: { 200: scheduleDto, ...problemResponses(400, 401, 404, 503) },
      },
    },
    async (request) => scheduleJson(await schedules.getSchedule.execute(request.params.id)),
  );

  app.get(
    `${SCHEDULES}/:id/runs`,
    {
      schema: {
        summary: "List a schedule's runs",
        description:
          'The latest runs, newest first: each is a command (follow it at its statusUrl) with the tick it is for.',
        tags: TAGS,
        security: BEARER_SECURITY,
        params: scheduleParams,
        querystring: scheduleRunsQuery,
        response: { 200: scheduleRunListDto, ...problemResponses(400, 401, 404, 503) },
      },
    },
    async (request) => {
      const { id } = request.params;
      const [schedule, runs] = await Promise.all([
        schedules.getSchedule.execute(id),
        schedules.listRuns.execute({ scheduleId: id, limit: request.query.limit }),
      ]);
      const items = await Promise.all(
        runs.map(async (run) => {
          // Recorded just before its command is queued: a run the queue does not know yet is queued.
          const status = (await commandStatus.execute(run.commandId)) ?? {
            commandId: run.commandId,
            type: schedule.command.type,
            status: 'queued' as const,
            attempts: 0,
          };
          return { ...status, dueAt: run.dueAt.toISOString(), statusUrl: `/v1/commands/${run.commandId}` };
        }),
      );
      return { items };
    },
  );

  app.delete(
    `${SCHEDULES}/:id`,
    {
      schema: {
        summary: 'Delete a recurring schedule',
        description:
          'No run starts after the answer (but one whose tick was being handled at that moment). The runs ' +
          'already started stay readable at /v1/commands/{commandId}.',
        tags: TAGS,
        security: BEARER_SECURITY,
        params: scheduleParams,
        response: { 204: z.null().describe('deleted'), ...problemResponses(400, 401, 404, 503) },
      },
    },
    async (request, reply) => {
      await schedules.deleteSchedule.execute(request.params.id);
      return reply.code(204).send(null);
    },
  );
};

function scheduleJson(schedule: ScheduleView) {
  const { recurrence } = schedule;
  return {
    id: schedule.id,
    name: schedule.name,
    ...('every' in recurrence ? { every: String(recurrence.every) } : { cron: recurrence.cron, timezone: recurrence.timezone }),
    command: schedule.command,
    createdAt: schedule.createdAt.toISOString(),
    nextRunAt: schedule.nextRunAt?.toISOString() ?? null,
    runsUrl: `${SCHEDULES}/${schedule.id}/runs`,
  };
}
