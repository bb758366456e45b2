import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { EMAIL_JOB_NAME } from '../../../queues/emails.js';
import { createEmailManagement } from '../../../src/main/roles/mailer.js';
import { newId, ormOnFreshDatabase, type OrmFixture } from '../../support/orm.js';
import { type TestApi, allJobs, auth, expectProblem, startApi } from '../../support/in-process-api.js';

// The email routes on the real use cases (createEmailManagement) over a fresh PostgreSQL
// database and real BullMQ queues in Redis under a unique prefix. Rows are written as the relay
// and the mailer leave them.

let db: OrmFixture;
let api: TestApi;

beforeAll(async () => {
  db = await ormOnFreshDatabase();
  api = await startApi(({ queues }) => ({ emails: createEmailManagement({ pool: db.pool, readPool: db.pool, queues }) }), undefined, {
    DATABASE_URL: db.url,
  });
});

afterAll(async () => {
  await api.close();
  await db.close();
});

beforeEach(async () => {
  await db.sql('delete from email_messages');
  await api.queues.find((queue) => queue.name === 'emails')?.obliterate({ force: true });
});

interface Seed {
  status?: 'pending' | 'sent' | 'failed';
  to?: string;
  /** Seconds before now. */
  ageSeconds?: number;
  subject?: string | null;
  attempts?: number;
  lastResponse?: string | null;
}

async function seed(rows: Seed[]): Promise<string[]> {
  const ids = rows.map(() => newId());
  await db.sql(
    `insert into email_messages (id, event_id, template, to_address, message_id, status, attempts, last_response,
                                 subject, created_at, sent_at, finished_at)
     select r.id, r.id, 'welcome', r.to_address, '<' || r.id || '@conveyor.local>', r.status, r.attempts,
            r.last_response, r.subject, now() - make_interval(secs => r.age),
            case when r.status = 'sent' then now() - make_interval(secs => r.age) end,
            case when r.status <> 'pending' then now() - make_interval(secs => r.age) end
       from jsonb_to_recordset(?::jsonb)
         as r(id uuid, to_address text, status text, attempts int, last_response text, subject text, age float8)`,
    [
      JSON.stringify(
        rows.map((row, n) => ({
          id: ids[n],
          to_address: row.to ?? 'ann@example.com',
          status: row.status ?? 'sent',
          attempts: row.attempts ?? 1,
          last_response: row.lastResponse === undefined ? '250 2.0.0 Ok: queued as Q1' : row.lastResponse,
          subject: row.subject === undefined ? 'Welcome to conveyor, Ann' : row.subject,
          age: row.ageSeconds ?? 60,
        })),
      ),
    ],
  );
  return ids;
}

const get = (url: string) => api.app.inject({ method: 'GET', url, headers: auth });
const resend = (id: string) => api.app.inject({ method: 'POST', url: `/v1/emails/${id}/resend`, headers: auth });

interface EmailJson {
  id: string;
  status: string;
  to: string;
  [field: string]: unknown;
}
interface PageJson {
  items: EmailJson[];
  nextCursor: string | null;
}

describe('GET /v1/emails', () => {
  test('needs the API key', async () => {
    const response = await api.app.inject({ method: 'GET', url: '/v1/emails' });
    expect(response.statusCode).toBe(401);
  });

  test('lists emails newest first with what an operator needs, and no body', async () => {
    const [old, recent] = await seed([
      { status: 'failed', ageSeconds: 3600, attempts: 8, lastResponse: '451 4.7.1 try later', subject: 'Order 1 received' },
      { status: 'sent', ageSeconds: 10 },
    ]);
    const response = await get('/v1/emails');
    expect(response.statusCode).toBe(200);
    const page = response.json<PageJson>();
    expect(page.items.map((item) => item.id)).toEqual([recent, old]);
    expect(page.nextCursor).toBeNull();
    expect(page.items[1]).toEqual({
      id: old,
      eventId: old,
      messageId: `<${old}@conveyor.local>`,
      template: 'welcome',
      to: 'ann@example.com',
      subject: 'Order 1 received',
      status: 'failed',
      attempts: 8,
      lastResponse: '451 4.7.1 try later',
      createdAt: expect.stringMatching(/Z$/),
      sentAt: null,
      finishedAt: expect.stringMatching(/Z$/),
      nextAttemptAt: null,
    });
  });

  test('filters by status, recipient (in any case) and creation time, together or alone', async () => {
    const [failedAnn, , failedBob, oldFailedAnn] = await seed([
      { status: 'failed', to: 'ann@example.com', ageSeconds: 60 },
      { status: 'sent', to: 'ann@example.com', ageSeconds: 60 },
      { status: 'failed', to: 'bob@example.com', ageSeconds: 60 },
      { status: 'failed', to: 'ann@example.com', ageSeconds: 7200 },
      { status: 'pending', to: 'cid@example.com', ageSeconds: 5 },
    ]);
    const ids = async (query: string) => (await get(`/v1/emails?${query}`)).json<PageJson>().items.map((item) => item.id);
    // Same creation time: the id (UUIDv7, later = larger) breaks the tie, newest first.
    expect(await ids('status=failed')).toEqual([failedBob, failedAnn, oldFailedAnn]);
    expect(await ids('to=%20Ann@Example.COM&status=failed')).toEqual([failedAnn, oldFailedAnn]);
    const since = new Date(Date.now() - 3600_000).toISOString();
    expect(await ids(`to=ann@example.com&status=failed&since=${since}`)).toEqual([failedAnn]);
    expect((await ids(`since=${since}`)).length).toBe(4);
    expect(await ids('to=nobody@example.com')).toEqual([]);
  });

  test('pages with an opaque cursor: each email exactly once while new ones arrive', async () => {
    // Three emails per second of creation time, so pages end inside a run of equal times too.
    const original = await seed(Array.from({ length: 230 }, (_, n) => ({ ageSeconds: 1000 + Math.floor(n / 3) })));
    const late: string[] = [];
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const query: string = cursor ? `limit=40&cursor=${cursor}` : 'limit=40';
      const response = await get(`/v1/emails?${query}`);
      expect(response.statusCode).toBe(200);
      const page = response.json<PageJson>();
      seen.push(...page.items.map((item) => item.id));
      cursor = page.nextCursor;
      // Emails keep arriving while the client pages: new ones (ahead of the first page: not
      // listed), and each time one dated before everything listed so far (a transaction that
      // committed late: listed once, at the end).
      await seed([{ ageSeconds: 0 }]);
      late.push(...(await seed([{ ageSeconds: 5000 + 100 * late.length }])));
    } while (cursor);
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen.filter((id) => original.includes(id)).sort()).toEqual([...original].sort());
    // All but the one added after the last page.
    expect(seen.filter((id) => late.includes(id))).toEqual(late.slice(0, -1));
    expect(seen).toHaveLength(original.length + late.length - 1);
  });

  test.each([
    ['status=bounced', 'status'],
    ['since=yesterday', 'since'],
    ['limit=0', 'limit'],
    ['limit=101', 'limit'],
    ['cursor=not-a-cursor', 'cursor'],
    [`cursor=${Buffer.from('{"t":"2026-12-01T00:00:00Z"}').toString('base64url')}`, 'cursor'],
    [`to=${'a'.repeat(250)}@example.com`, 'to'],
    ['state=failed', 'state'],
  ])('refuses a bad filter (%s) with 400 problem+json naming it', async (query, path) => {
    const response = await get(`/v1/emails?${query}`);
    expect(response.statusCode).toBe(400);
    const problem = expectProblem(response);
    expect(problem.errors).toEqual(expect.arrayContaining([expect.objectContaining({ in: 'querystring', path })]));
  });
});

describe('POST /v1/emails/:id/resend', () => {
  test('needs the API key', async () => {
    const response = await api.app.inject({ method: 'POST', url: `/v1/emails/${newId()}/resend` });
    expect(response.statusCode).toBe(401);
  });

  test('answers 404 for an unknown email and 400 for an id that is no UUID', async () => {
    const unknown = await resend(newId());
    expect(unknown.statusCode).toBe(404);
    expect(expectProblem(unknown).code).toBe('email_not_found');
    expect((await resend('nope')).statusCode).toBe(400);
  });

  test.each(['sent', 'failed'] as const)('queues a %s email again under its own id; a second resend while pending is 409', async (status) => {
    const [id] = (await seed([{ status, attempts: 3 }])) as [string];
    const emails = api.queues.find((queue) => queue.name === 'emails')!;
    // The first send's job is still held under the email's id (kept for Bull Board).
    await emails.add(EMAIL_JOB_NAME, { emailId: id }, { jobId: id, delay: 3_600_000 });

    const response = await resend(id);
    expect(response.statusCode).toBe(202);
    expect(response.json()).toEqual({ emailId: id, status: 'pending' });
    const [row] = await db.sql<{ status: string; attempts: number; message_id: string; finished_at: Date | null }>(
      'select status, attempts, message_id, finished_at from email_messages where id = ?',
      [id],
    );
    expect(row).toMatchObject({ status: 'pending', attempts: 3, message_id: `<${id}@conveyor.local>`, finished_at: null });
    const jobs = (await allJobs(emails)).filter((job) => job.id === id);
    expect(jobs).toHaveLength(1);
    expect(jobs[0]!.data).toEqual({ emailId: id });
    expect(await jobs[0]!.getState()).toBe('waiting');

    const again = await resend(id);
    expect(again.statusCode).toBe(409);
    expect(expectProblem(again).code).toBe('email_pending');
  });
});

describe('OpenAPI', () => {
  test('documents the email routes from their zod schemas', async () => {
    const document = (await api.app.inject({ method: 'GET', url: '/docs/json' })).json();
    const list = document.paths['/v1/emails'].get;
    expect(list.security).toEqual([{ bearerAuth: [] }]);
    expect(list.parameters.map((parameter: { name: string }) => parameter.name).sort()).toEqual(
      ['cursor', 'limit', 'since', 'status', 'to'],
    );
    const item = list.responses['200'].content['application/json'].schema.properties.items.items;
    expect(Object.keys(item.properties)).not.toContain('body');
    expect(Object.keys(item.properties)).toEqual(expect.arrayContaining(['to', 'subject', 'template', 'status', 'attempts']));
    const resendRoute = document.paths['/v1/emails/{id}/resend'].post;
    expect(resendRoute.security).toEqual([{ bearerAuth: [] }]);
    expect(Object.keys(resendRoute.responses).sort()).toEqual(['202', '400', '401', '403', '404', '409', '429']);
  });
});
