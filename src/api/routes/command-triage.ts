import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { CommandTriage } from '../../application/commerce/triage/command-triage.js';
import { MAX_CURSOR_LENGTH, decodeCursor } from '../../application/commerce/triage/cursor.js';
import { DEFAULT_COMMAND_PAGE, MAX_COMMAND_PAGE, type CommandListItem } from '../../application/commerce/triage/list-commands.js';
import { LISTED_COMMAND_STATUSES, type CommandFilter } from '../../application/commerce/triage/ports.js';
import { COMMAND_TYPES } from '../../../queues/index.js';
import { problemResponses } from '../problem.js';
import { BEARER_SECURITY, pageParam, uuidParam } from '../schemas.js';

export interface CommandTriageRoutesOptions {
  triage: CommandTriage;
}

const TAGS = ['commands'];

const dateTime = () => z.iso.datetime({ offset: true }).describe('ISO 8601 date-time, e.g. 2026-01-31T00:00:00Z');

/** The filter of both routes: the query string of the listing, the `filter` of a retry. */
const filterFields = {
  status: z
    .enum(LISTED_COMMAND_STATUSES)
    .optional()
    .describe(
      'succeeded or failed: the recorded outcome (a failure is a domain error, final); gave_up: the retries ran out ' +
        'on infrastructure errors; retrying: gave up, then re-queued by a retry',
    ),
  type: z.enum(COMMAND_TYPES).optional().describe('the command type'),
  errorCode: z
    .string()
    .max(64)
    .regex(/^[a-z][a-z0-9_]*$/, 'must be an error code such as insufficient_stock')
    .optional()
    .describe('the code of its error: a domain error code, or infrastructure_error for one that gave up'),
  since: dateTime().optional().describe('finished at or after'),
  until: dateTime().optional().describe('finished before'),
};

function sinceBeforeUntil(value: { since?: string | undefined; until?: string | undefined }): boolean {
  return value.since === undefined || value.until === undefined || Date.parse(value.since) <= Date.parse(value.until);
}
const UNTIL_BEFORE_SINCE = { message: 'must not be before "since"', path: ['until'] };

export const listCommandsQuery = z
  .strictObject({
    ...filterFields,
    limit: pageParam(MAX_COMMAND_PAGE, DEFAULT_COMMAND_PAGE).describe('commands per page'),
    cursor: z
      .string()
      .max(MAX_CURSOR_LENGTH)
      .refine((cursor) => decodeCursor(cursor) !== null, 'is not a cursor this API returned')
      .optional()
      .describe('the nextCursor of the page before'),
  })
  .refine(sinceBeforeUntil, UNTIL_BEFORE_SINCE);

export const retryCommandsBody = z.strictObject({
  filter: z
    .strictObject({ ...filterFields, commandId: uuidParam().optional().describe('one command') })
    .refine(sinceBeforeUntil, UNTIL_BEFORE_SINCE)
    .describe('the commands to retry, as GET /v1/commands would list them; {} matches every listed command'),
  dryRun: z.boolean().default(false).describe('count only: re-queue nothing'),
});

const timestamp = () => z.string().describe('ISO 8601 date-time');

export const commandListItemDto = z.object({
  commandId: z.uuid(),
  type: z.string(),
  status: z.enum(LISTED_COMMAND_STATUSES),
  attempts: z.int().nullable().describe('attempts of its jobs, those before a retry included; null if recorded before this was counted'),
  error: z.object({ code: z.string(), message: z.string() }).nullable(),
  aggregateType: z.string().nullable().describe('order, user or product: what the command applies to'),
  aggregateId: z.string().nullable().describe('the id of that order, user or product'),
  acceptedAt: timestamp().nullable().describe('when the intake accepted it'),
  finishedAt: timestamp().describe('when its outcome was recorded, or when it gave up'),
  retriedAt: timestamp().nullable().describe('when it was last re-queued by a retry'),
});

export const commandListDto = z.object({
  items: z.array(commandListItemDto).describe('newest first by finishedAt'),
  nextCursor: z.string().nullable().describe('pass as cursor for the next page; null on the last page'),
});

export const retryResultDto = z.object({
  matched: z.int().describe('listed commands the filter matches'),
  retried: z.int().describe('re-queued under their own command id (in a dry run: that would be)'),
  skipped: z.int().describe('not re-queued: outcomes (a domain failure is never run again) and commands already queued again'),
  dryRun: z.boolean(),
});

/**
 * Command triage (docs/design.md §3): find the commands that failed or gave up, and retry those
 * that gave up, in bulk or one by id.
 */
export const commandTriageRoutes: FastifyPluginAsyncZod<CommandTriageRoutesOptions> = async (app, options) => {
  const { triage } = options;

  app.get(
    '/v1/commands',
    {
      schema: {
        summary: 'List commands that finished or gave up',
        description:
          'Newest first by when they finished, one page at a time (keyset pagination: follow nextCursor). Lists the ' +
          'commands with a recorded outcome (succeeded, failed) and those that gave up after their retries ' +
          '(gave_up, retrying); commands still queued or running are followed with GET /v1/commands/{commandId}.',
        tags: TAGS,
        security: BEARER_SECURITY,
        querystring: listCommandsQuery,
        response: { 200: commandListDto, ...problemResponses(400, 401) },
      },
    },
    async (request) => {
      const { limit, cursor, ...filter } = request.query;
      const page = await triage.listCommands.execute({ filter: toFilter(filter), limit, cursor });
      return { items: page.items.map(itemJson), nextCursor: page.nextCursor };
    },
  );

  app.post(
    '/v1/commands/retry',
    {
      schema: {
        summary: 'Retry commands that gave up',
        description:
          'Re-queues the matching commands that gave up after their retries on infrastructure errors, under their ' +
          'own command id, so each is still applied at most once. Commands with an outcome are skipped: a domain ' +
          'failure is final. A command already queued again is not queued twice. One command: filter on its commandId.',
        tags: TAGS,
        security: BEARER_SECURITY,
        body: retryCommandsBody,
        response: { 200: retryResultDto, ...problemResponses(400, 401, 413, 415, 503) },
      },
    },
    async (request) => triage.retryCommands.execute({ filter: toFilter(request.body.filter), dryRun: request.body.dryRun }),
  );
};

function toFilter(fields: {
  commandId?: string | undefined;
  status?: CommandFilter['status'];
  type?: string | undefined;
  errorCode?: string | undefined;
  since?: string | undefined;
  until?: string | undefined;
}): CommandFilter {
  return {
    commandId: fields.commandId,
    status: fields.status,
    type: fields.type,
    errorCode: fields.errorCode,
    since: fields.since === undefined ? undefined : new Date(fields.since),
    until: fields.until === undefined ? undefined : new Date(fields.until),
  };
}

function itemJson(item: CommandListItem): z.input<typeof commandListItemDto> {
  const separator = item.aggregate?.indexOf(':') ?? -1;
  return {
    commandId: item.commandId,
    type: item.type,
    status: item.status,
    attempts: item.attempts,
    error: item.error,
    aggregateType: item.aggregate && separator > 0 ? item.aggregate.slice(0, separator) : null,
    aggregateId: item.aggregate && separator > 0 ? item.aggregate.slice(separator + 1) : null,
    acceptedAt: item.acceptedAt?.toISOString() ?? null,
    finishedAt: item.finishedAt.toISOString(),
    retriedAt: item.retriedAt?.toISOString() ?? null,
  };
}
