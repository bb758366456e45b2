import type { FastifyInstance } from 'fastify';
import { v7 as uuidv7 } from 'uuid';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { CommandTriage } from '../../../src/application/commerce/triage/command-triage.js';
import { encodeCursor } from '../../../src/application/commerce/triage/cursor.js';
import type { ListCommandsInput } from '../../../src/application/commerce/triage/list-commands.js';
import type { RetryCommandsInput } from '../../../src/application/commerce/triage/retry-commands.js';
import { API_KEY, inMemoryApi } from '../support/api.js';

// The HTTP edge of command triage on an in-memory use case: what reaches it, and what never does.

const listed: ListCommandsInput[] = [];
const retried: RetryCommandsInput[] = [];
const commandId = uuidv7();
/** What the listed command is, as the use case has it and as the API answers it. */
const GAVE_UP = {
  commandId,
  type: 'PlaceOrder',
  status: 'gave_up',
  attempts: 40,
  error: { code: 'infrastructure_error', message: 'connect ECONNREFUSED' },
} as const;
const triage: CommandTriage = {
  listCommands: {
    execute: async (input) => {
      listed.push(input);
      return {
        items: [
          {
            ...GAVE_UP,
            aggregate: 'order:0193a5b0-0000-7000-8000-00000000000a',
            finishedAt: new Date('2026-12-02T13:00:00.000Z'),
            retriedAt: null,
            acceptedAt: new Date('2026-12-02T12:30:00.000Z'),
          },
        ],
        nextCursor: 'next',
      };
    },
  },
  retryCommands: {
    execute: async (input) => {
      retried.push(input);
      return { matched: 3, retried: 2, skipped: 1, dryRun: input.dryRun };
    },
  },
};

let app: FastifyInstance;
const auth = { authorization: `Bearer ${API_KEY}` };
const get = (url: string) => app.inject({ method: 'GET', url, headers: auth });
const post = (body: unknown) => app.inject({ method: 'POST', url: '/v1/commands/retry', headers: auth, payload: body as object });

beforeAll(async () => {
  ({ app } = await inMemoryApi({ commandTriage: triage }));
});
afterAll(() => app.close());
beforeEach(() => {
  listed.length = 0;
  retried.length = 0;
});

describe('GET /v1/commands', () => {
  it('hands the filter, limit and cursor to the use case and answers its page', async () => {
    const cursor = encodeCursor({ finishedAt: new Date('2026-12-02T13:00:00.000Z'), commandId });
    const response = await get(
      `/v1/commands?status=gave_up&type=PlaceOrder&errorCode=infrastructure_error&since=2026-12-01T00:00:00Z&until=2026-12-03T00:00:00%2B01:00&limit=10&cursor=${cursor}`,
    );
    expect(response.statusCode).toBe(200);
    expect(listed).toEqual([
      {
        filter: {
          commandId: undefined,
          status: 'gave_up',
          type: 'PlaceOrder',
          errorCode: 'infrastructure_error',
          since: new Date('2026-12-01T00:00:00Z'),
          until: new Date('2026-12-02T23:00:00Z'),
        },
        limit: 10,
        cursor,
      },
    ]);
    expect(response.json()).toEqual({
      items: [
        {
          ...GAVE_UP,
          aggregateType: 'order',
          aggregateId: '0193a5b0-0000-7000-8000-00000000000a',
          acceptedAt: '2026-12-02T12:30:00.000Z',
          finishedAt: '2026-12-02T13:00:00.000Z',
          retriedAt: null,
        },
      ],
      nextCursor: 'next',
    });
  });

  it('lists 50 by default, without a filter', async () => {
    expect((await get('/v1/commands')).statusCode).toBe(200);
    expect(listed[0]).toMatchObject({ limit: 50, cursor: undefined, filter: { status: undefined, since: undefined } });
  });

  it.each([
    ['status=broken', 'status'],
    ['status=queued', 'status'],
    ['type=DropTables', 'type'],
    ['errorCode=Not%20A%20Code', 'errorCode'],
    ['since=yesterday', 'since'],
    ['until=2026-12-02', 'until'],
    ['since=2026-12-02T00:00:00Z&until=2026-12-01T00:00:00Z', 'until'],
    ['limit=0', 'limit'],
    ['limit=101', 'limit'],
    ['limit=ten', 'limit'],
    ['cursor=not-a-cursor', 'cursor'],
    ['cursor=' + 'A'.repeat(300), 'cursor'],
    ['state=failed', 'state'],
    ['status=failed&status=gave_up', 'status'],
  ])('answers 400 problem+json for %s, naming %s, without listing', async (query, path) => {
    const response = await get(`/v1/commands?${query}`);
    expect(response.statusCode).toBe(400);
    expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(response.json().errors).toContainEqual(expect.objectContaining({ in: 'querystring', path }));
    expect(listed).toEqual([]);
  });

  it('needs the API key', async () => {
    expect((await app.inject({ method: 'GET', url: '/v1/commands' })).statusCode).toBe(401);
    expect((await app.inject({ method: 'POST', url: '/v1/commands/retry', payload: { filter: {} } })).statusCode).toBe(401);
    expect([...listed, ...retried]).toEqual([]);
  });
});

describe('POST /v1/commands/retry', () => {
  it('hands the filter to the use case, a dry run only when asked', async () => {
    const one = uuidv7().toUpperCase();
    const response = await post({ filter: { commandId: one, status: 'gave_up', since: '2026-12-01T00:00:00Z' } });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ matched: 3, retried: 2, skipped: 1, dryRun: false });
    expect(retried).toEqual([
      {
        filter: {
          commandId: one.toLowerCase(),
          status: 'gave_up',
          type: undefined,
          errorCode: undefined,
          since: new Date('2026-12-01T00:00:00Z'),
          until: undefined,
        },
        dryRun: false,
      },
    ]);
    expect((await post({ filter: {}, dryRun: true })).json()).toMatchObject({ dryRun: true });
  });

  it.each([
    [{}, 'filter'],
    [{ filter: { status: 'lost' } }, 'filter.status'],
    [{ filter: { commandId: 'abc' } }, 'filter.commandId'],
    [{ filter: { type: 'placeorder' } }, 'filter.type'],
    [{ filter: { since: '2026-12-02T00:00:00Z', until: '2026-12-01T00:00:00Z' } }, 'filter.until'],
    [{ filter: { cursor: 'x' } }, 'filter.cursor'],
    [{ filter: {}, dryRun: 'yes' }, 'dryRun'],
    [{ filter: {}, force: true }, 'force'],
  ])('answers 400 for %o, naming %s, without retrying', async (body, path) => {
    const response = await post(body);
    expect(response.statusCode).toBe(400);
    expect(response.json().errors).toContainEqual(expect.objectContaining({ in: 'body', path }));
    expect(retried).toEqual([]);
  });
});

describe('the OpenAPI document', () => {
  it('describes both routes with their schemas and the API key', async () => {
    const doc = (await app.inject({ method: 'GET', url: '/docs/json' })).json();
    const list = doc.paths['/v1/commands'].get;
    expect(list.security).toEqual([{ bearerAuth: [] }]);
    expect(list.parameters.map((p: { name: string }) => p.name).sort()).toEqual(
      ['cursor', 'errorCode', 'limit', 'since', 'status', 'type', 'until'],
    );
    expect(Object.keys(list.responses)).toEqual(expect.arrayContaining(['200', '400', '401']));
    const retry = doc.paths['/v1/commands/retry'].post;
    expect(retry.security).toEqual([{ bearerAuth: [] }]);
    expect(retry.requestBody.content['application/json'].schema.properties).toHaveProperty('dryRun');
  });
});
