import fc from 'fast-check';
import { isDeepStrictEqual } from 'node:util';
import type { z } from 'zod';
import { describe, expect, it } from 'vitest';
import {
  addProductBody,
  cancelOrderBody,
  commandPayloads,
  emptyBody,
  placeOrderBody,
  registerUserBody,
  restockProductBody,
  splitJobData,
  type CommandType,
} from '../../queues/commands.js';
import { uuidParam } from '../../src/api/schemas.js';
import { MAX_ORDER_LINES, MAX_QUANTITY, MAX_REASON_LENGTH } from '../../src/domain/index.js';
import { API_KEY, apiForFile, UUID_V7 } from '../support/in-process-api.js';

// Property-based fuzzing of every command route of docs/design.md §3 against the real app
// (buildApp), a real Redis command queue (its own prefix) and the in-memory read model.
// Bodies mix valid and invalid values, unknown keys, wrong types, huge and unicode strings,
// nested junk, malformed JSON, other media types, oversized bodies and Idempotency-Keys.
// The oracle is the contract itself: the zod schema of queues/commands.ts decides whether a
// body is acceptable, and an accepted command's job must parse with commandPayloads[type].

const RUNS = Number(process.env.FUZZ_RUNS ?? 2_000);
const SEED = Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31);
const BODY_LIMIT = 256 * 1024;
const IDEMPOTENCY_POOL = ['fuzz-key-1', 'fuzz-key-2', 'fuzz-key-3'];

type IdField = 'userId' | 'productId' | 'orderId';

interface Route {
  type: CommandType;
  /** The URL with `:id` where the aggregate id goes. */
  url: string;
  idField: IdField;
  idInPath: boolean;
  schema: z.ZodType;
  /** Objects mostly of the right shape, with junk mixed into fields. */
  fields: fc.Arbitrary<Record<string, unknown>>;
}

// ---- arbitraries -------------------------------------------------------------------------

const hugeString = fc
  .tuple(fc.integer({ min: 256, max: 20_000 }), fc.constantFrom('x', 'é', '😀', '\u0000', ' ', '"', '\\', '\u202e'))
  .map(([n, c]) => c.repeat(n));
const unicodeString = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.constantFrom('\uD800', 'a\uDFFFb', '\u0000', '\uFEFF', 'Ω≈ç√∫', '𝕏', '　', '\t\n'),
);
const junk: fc.Arbitrary<unknown> = fc.oneof(
  fc.jsonValue({ maxDepth: 4 }),
  fc.constantFrom(null, true, false, 0, -1, 1.5, -0.0001, 1e308, '', ' ', [], {}, '1', 'true', 'null'),
  hugeString,
  unicodeString,
  fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 5 }),
);
/** Mostly `valid`, sometimes anything at all. */
const field = <T>(valid: fc.Arbitrary<T>): fc.Arbitrary<unknown> =>
  fc.oneof({ arbitrary: valid, weight: 12 }, { arbitrary: junk, weight: 1 });

const uuid = fc.oneof(
  { arbitrary: fc.uuid(), weight: 30 },
  { arbitrary: fc.uuid().map((id) => id.toUpperCase()), weight: 1 },
  { arbitrary: fc.uuid({ version: [9, 12, 15] }), weight: 1 },
  { arbitrary: fc.constantFrom('00000000-0000-0000-0000-000000000000', 'ffffffff-ffff-ffff-ffff-ffffffffffff'), weight: 1 },
  { arbitrary: fc.uuid().map((id) => `{${id}}`), weight: 1 },
  { arbitrary: fc.uuid().map((id) => id.replaceAll('-', '')), weight: 1 },
);
const name = fc.oneof(
  { arbitrary: fc.string({ minLength: 1, maxLength: 40 }), weight: 4 },
  { arbitrary: unicodeString, weight: 2 },
  { arbitrary: fc.constantFrom('   ', '', 'a'.repeat(200), 'a'.repeat(201), ` ${'b'.repeat(200)} `), weight: 1 },
);
const count = (max: number) =>
  fc.oneof(
    { arbitrary: fc.integer({ min: 1, max }), weight: 12 },
    { arbitrary: fc.constantFrom(0, -1, max, max + 1, 2 ** 31, 2 ** 53, 1.5, Number.MAX_SAFE_INTEGER + 2), weight: 1 },
    { arbitrary: fc.double({ noNaN: true }), weight: 1 },
  );
const money = fc.record({
  amount: field(
    fc.oneof(
      { arbitrary: fc.stringMatching(/^(0|[1-9]\d{0,8})(\.\d{1,2})?$/), weight: 6 },
      { arbitrary: fc.stringMatching(/^(0|[1-9]\d{0,14})(\.\d{1,4})?$/), weight: 2 },
      {
        arbitrary: fc.constantFrom('12.50', '0.001', '1.', '.5', '01', '-1', '1e3', '999999999999999.9999', '9007199254740993', '90071992547409.93'),
        weight: 1,
      },
    ),
  ),
  currency: field(
    fc.oneof(
      { arbitrary: fc.constantFrom('EUR', 'USD', 'GBP', 'CHF'), weight: 6 },
      { arbitrary: fc.constantFrom('JPY', 'KWD', 'CLF', 'XXX', 'ABC', 'eur', 'EU', 'EURO'), weight: 2 },
    ),
  ),
});
const item = fc.record({ productId: field(uuid), quantity: field(count(MAX_QUANTITY)) });
const items = fc
  .oneof(
    { arbitrary: fc.array(field(item), { minLength: 1, maxLength: 4 }), weight: 8 },
    { arbitrary: fc.array(field(item), { minLength: 0, maxLength: MAX_ORDER_LINES + 5 }), weight: 1 },
  )
  // Now and then a product twice (refused: one line per product).
  .chain((lines) =>
    lines.length > 0 ? fc.integer({ min: 0, max: 7 }).map((n) => (n === 0 ? [...lines, lines[0]] : lines)) : fc.constant(lines),
  );

const ROUTES: Route[] = [
  {
    type: 'RegisterUser',
    url: '/v1/users',
    idField: 'userId',
    idInPath: false,
    schema: registerUserBody,
    fields: fc.record({
      email: field(
        fc.oneof(
          { arbitrary: fc.stringMatching(/^[a-z0-9][a-z0-9._+-]{0,20}@[a-z0-9-]{1,12}\.(com|io|de)$/), weight: 4 },
          { arbitrary: fc.emailAddress(), weight: 2 },
          { arbitrary: fc.constantFrom('a@b', 'no-at', `${'a'.repeat(250)}@x.io`, 'A@B.CO', 'a@b.c\u0000'), weight: 1 },
        ),
      ),
      name: field(name),
    }),
  },
  {
    type: 'AddProduct',
    url: '/v1/products',
    idField: 'productId',
    idInPath: false,
    schema: addProductBody,
    fields: fc.record({
      sku: field(fc.oneof(fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/), fc.constantFrom('-X', 'a b', 'x'.repeat(65)))),
      name: field(name),
      price: field(money),
      stock: field(fc.oneof(count(MAX_QUANTITY), fc.constant(0))),
    }),
  },
  {
    type: 'RestockProduct',
    url: '/v1/products/:id/restock',
    idField: 'productId',
    idInPath: true,
    schema: restockProductBody,
    fields: fc.record({ quantity: field(count(MAX_QUANTITY)) }),
  },
  {
    type: 'PlaceOrder',
    url: '/v1/orders',
    idField: 'orderId',
    idInPath: false,
    schema: placeOrderBody,
    fields: fc.record({ userId: field(uuid), items: field(items) }),
  },
  ...(['ConfirmOrder', 'ShipOrder', 'DeliverOrder'] as const).map(
    (type): Route => ({
      type,
      url: `/v1/orders/:id/${{ ConfirmOrder: 'confirm', ShipOrder: 'ship', DeliverOrder: 'deliver' }[type]}`,
      idField: 'orderId',
      idInPath: true,
      schema: emptyBody,
      fields: fc.constant({}),
    }),
  ),
  {
    type: 'CancelOrder',
    url: '/v1/orders/:id/cancel',
    idField: 'orderId',
    idInPath: true,
    schema: cancelOrderBody,
    fields: fc.record({
      reason: field(
        fc.oneof(
          fc.string({ minLength: 1, maxLength: 60 }),
          unicodeString,
          fc.constantFrom(' ', 'r'.repeat(MAX_REASON_LENGTH), 'r'.repeat(MAX_REASON_LENGTH + 1), ` ${'r'.repeat(MAX_REASON_LENGTH)} `),
        ),
      ),
    }),
  },
];

type Payload =
  /** JSON.stringify of a generated value. */
  | { kind: 'json'; value: unknown }
  | { kind: 'none' }
  | { kind: 'malformed'; text: string }
  | { kind: 'oversized'; value: unknown }
  | { kind: 'proto'; text: string }
  /** Raw bytes: a JSON object whose string value holds arbitrary bytes (invalid UTF-8, quotes, controls). */
  | { kind: 'bytes'; bytes: Buffer };

interface FuzzRequest {
  /** The id put in the path (routes with an id in the path). */
  pathId: string;
  payload: Payload;
  contentType: string | undefined;
  idempotencyKey: string | undefined;
}

/** The route's object, sometimes with fields missing or an unknown key added. */
function objects(route: Route): fc.Arbitrary<unknown> {
  return fc.oneof(
    { arbitrary: route.fields, weight: 12 },
    {
      arbitrary: route.fields.chain((value) => fc.subarray(Object.keys(value)).map((keep) => pick(value, keep))),
      weight: 1,
    },
    {
      arbitrary: fc
        .tuple(route.fields, fc.oneof(fc.string({ maxLength: 12 }), fc.constantFrom('commandId', route.idField, 'id', 'type')), junk)
        .map(([value, key, extra]) => ({ ...value, [key]: extra })),
      weight: 1,
    },
    { arbitrary: junk, weight: 1 },
  );
}

const pick = (value: Record<string, unknown>, keys: string[]) => Object.fromEntries(keys.map((key) => [key, value[key]]));

function requests(route: Route): fc.Arbitrary<FuzzRequest> {
  const payload: fc.Arbitrary<Payload> = fc.oneof(
    { arbitrary: objects(route).map((value): Payload => ({ kind: 'json', value })), weight: 50 },
    { arbitrary: fc.constant<Payload>({ kind: 'none' }), weight: 2 },
    {
      arbitrary: fc
        .oneof(fc.string({ maxLength: 30 }), fc.constantFrom('{', '{"a":', "{'a':1}", '[1,]', '{"a":1}}', 'nul', '\u0000'))
        .filter((text) => text.length > 0 && !parses(text))
        .map((text): Payload => ({ kind: 'malformed', text })),
      weight: 2,
    },
    {
      arbitrary: route.fields.map((value): Payload => ({ kind: 'oversized', value: { ...value, padding: 'p'.repeat(BODY_LIMIT + 10) } })),
      weight: 1,
    },
    {
      arbitrary: fc
        .constantFrom('{"__proto__":{"polluted":true}}', '{"constructor":{"prototype":{"polluted":true}}}', '{"a":{"__proto__":{}}}')
        .map((text): Payload => ({ kind: 'proto', text })),
      weight: 1,
    },
    {
      arbitrary: fc
        .tuple(fc.constantFrom('name', 'email', 'reason', 'sku', 'x'), fc.uint8Array({ minLength: 1, maxLength: 16 }))
        .map(([key, raw]): Payload => ({
          kind: 'bytes',
          bytes: Buffer.concat([Buffer.from(`{"${key}":"`), Buffer.from(raw), Buffer.from('"}')]),
        })),
      weight: 2,
    },
  );
  const pathId = fc.oneof(
    { arbitrary: uuid, weight: 8 },
    { arbitrary: fc.string({ maxLength: 50 }).map(encodeURIComponent), weight: 1 },
    { arbitrary: fc.constantFrom('%zz', '%E0%A4%A', '..', 'undefined', 'a'.repeat(2000)), weight: 1 },
  );
  return fc.record({
    pathId,
    payload,
    contentType: fc.oneof(
      { arbitrary: fc.constant('application/json'), weight: 20 },
      {
        arbitrary: fc.constantFrom(
          'application/json; charset=utf-8',
          'text/plain',
          'application/x-www-form-urlencoded',
          'application/merge-patch+json',
          undefined,
        ),
        weight: 2,
      },
    ),
    idempotencyKey: fc.oneof(
      { arbitrary: fc.constant(undefined), weight: 12 },
      { arbitrary: fc.constantFrom(...IDEMPOTENCY_POOL), weight: 2 },
      { arbitrary: fc.stringMatching(/^[\x21-\x7e]{1,40}$/), weight: 1 },
      { arbitrary: fc.constantFrom('', 'has space', 'k'.repeat(256), 'ünïcode'), weight: 1 },
    ),
  });
}

function parses(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

/**
 * True when the JSON holds a `__proto__` key, or a `constructor` key with a `prototype`: the
 * app's JSON parser refuses those outright (prototype poisoning), before any schema is applied.
 */
function poisoned(text: string): boolean {
  let found = false;
  JSON.parse(text, (key, value: unknown) => {
    if (key === '__proto__') found = true;
    if (key === 'constructor' && value !== null && typeof value === 'object' && Object.hasOwn(value, 'prototype')) found = true;
    return value;
  });
  return found;
}

/** Key-order-insensitive JSON, to tell whether two bodies are the same request. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

// ---- the property ------------------------------------------------------------------------

const api = apiForFile();

interface Remembered {
  fingerprint: string;
  body: Record<string, string>;
  payload: unknown;
}

describe('fuzzing the command routes', () => {
  it(`never answers 5xx, accepts exactly what the contract accepts, enqueues what it accepted (${RUNS} bodies per route)`, { timeout: 600_000 }, async () => {
    const started = Date.now();
    const table: Record<string, Record<number, number>> = {};
    for (const [index, route] of ROUTES.entries()) {
      const statuses: Record<number, number> = {};
      table[route.type] = statuses;
      // What each Idempotency-Key first answered on this route (random short keys repeat too).
      const remembered = new Map<string, Remembered>();

      await fc.assert(
        fc.asyncProperty(requests(route), async (request) => {
          const { payload, contentType, idempotencyKey } = request;
          const url = route.idInPath ? route.url.replace(':id', request.pathId) : route.url;
          const text =
            payload.kind === 'json' || payload.kind === 'oversized'
              ? JSON.stringify(payload.value)
              : payload.kind === 'none'
                ? undefined
                : payload.kind === 'bytes'
                  ? payload.bytes
                  : payload.text;
          // What the server reads: the body decoded as UTF-8 (invalid sequences become U+FFFD).
          const decoded = typeof text === 'string' || text === undefined ? text : text.toString('utf8');
          const headers: Record<string, string> = { authorization: `Bearer ${API_KEY}` };
          if (contentType !== undefined && text !== undefined) headers['content-type'] = contentType;
          if (idempotencyKey !== undefined) headers['idempotency-key'] = idempotencyKey;

          const response = await api.app.inject({ method: 'POST', url, headers, ...(text === undefined ? {} : { payload: text }) });
          const status = response.statusCode;
          statuses[status] = (statuses[status] ?? 0) + 1;
          const where = `${route.type} ${url.slice(0, 200)} ${JSON.stringify(headers)} ${String(decoded).slice(0, 500)} → ${status} ${response.body.slice(0, 500)}`;

          expect(status, where).toBeLessThan(500);
          if (status !== 202) {
            expect(String(response.headers['content-type']), where).toMatch(/^application\/problem\+json/);
            const problem = response.json();
            expect(problem.status, where).toBe(status);
            expect(typeof problem.title, where).toBe('string');
            expect(typeof problem.detail, where).toBe('string');
          }

          // The oracle. First what makes a request unacceptable before its body is looked at;
          // which of several faults is reported first is the framework's business.
          const pathParse = route.idInPath ? uuidParam().safeParse(safeDecode(request.pathId)) : undefined;
          const pathOk = pathParse === undefined || pathParse.success;
          const keyOk = idempotencyKey === undefined || /^[\x21-\x7e]{1,255}$/.test(idempotencyKey);
          const jsonType = contentType === 'application/json' || contentType === 'application/json; charset=utf-8';
          const allowed = new Set<number>();
          // A bad id in the path is a 400; one the router cannot take (empty, '..') a 404, and
          // one longer than its maxParamLength a 414.
          if (!pathOk) [400, 404, 414].forEach((s) => allowed.add(s));
          if (!keyOk) allowed.add(400);
          if (text !== undefined && !jsonType) allowed.add(415);
          if (text !== undefined && Buffer.byteLength(text) > BODY_LIMIT) allowed.add(413);
          if (jsonType && (payload.kind === 'malformed' || payload.kind === 'proto')) allowed.add(400);
          if (jsonType && decoded !== undefined && (!parses(decoded) || poisoned(decoded))) allowed.add(400);
          if (allowed.size > 0) {
            expect([...allowed], where).toContain(status);
            return;
          }

          // A well-formed JSON request: the schema alone decides. Bodyless commands may omit the
          // body; a JSON null is a body, and not an object.
          const body = decoded === undefined ? undefined : (JSON.parse(decoded) as unknown);
          const parsed = route.schema.safeParse(route.schema === emptyBody && body === undefined ? {} : body);
          const pathId = pathParse?.success ? pathParse.data : undefined;
          if (!parsed.success) {
            expect(status, where).toBe(400);
            const problem = response.json();
            expect(problem.errors?.length, where).toBeGreaterThan(0);
            return;
          }
          const fingerprint = canonical({ path: route.idInPath ? route.url.replace(':id', pathId!) : route.url, body: parsed.data });
          const earlier = idempotencyKey === undefined ? undefined : remembered.get(idempotencyKey);
          if (earlier && earlier.fingerprint !== fingerprint) {
            expect(status, where).toBe(422);
            return;
          }
          expect(status, where).toBe(202);
          const accepted = response.json<Record<string, string>>();
          const commandId = accepted.commandId!;
          expect(accepted.statusUrl, where).toBe(`/v1/commands/${commandId}`);
          expect(response.headers.location, where).toBe(accepted.statusUrl);
          if (route.idInPath) expect(accepted[route.idField], where).toBe(pathId);
          else expect(accepted[route.idField], where).toMatch(UUID_V7);
          expect(commandId, where).toMatch(UUID_V7);

          // The job: the command's type, a payload the worker will parse, the ids just answered.
          const job = await api.commands.getJob(commandId);
          expect(job?.name, where).toBe(route.type);
          // Its data: the command's payload, and the key that sent it (ADR 0011).
          const { payload: jobData, fields } = splitJobData(job?.data);
          expect(fields.data?.sentBy, where).toEqual({ keyId: expect.stringMatching(/^env:[0-9a-f]{8}$/), name: 'API_KEYS #1' });
          const jobPayload = commandPayloads[route.type].safeParse(jobData);
          expect(jobPayload.success, `${where}\njob: ${JSON.stringify(job?.data).slice(0, 500)}`).toBe(true);
          expect(job?.data.commandId, where).toBe(commandId);
          expect(job?.data[route.idField], where).toBe(accepted[route.idField]);
          const expectedPayload = commandPayloads[route.type].parse({ ...(parsed.data as object), commandId, [route.idField]: accepted[route.idField] });
          if (earlier) {
            // The same key and request: the first answer again, and no second job.
            expect(accepted, where).toEqual(earlier.body);
            expect(response.headers['idempotent-replayed'], where).toBe('true');
            expect(isDeepStrictEqual(job?.data, earlier.payload), where).toBe(true);
          } else {
            expect(isDeepStrictEqual(jobData, expectedPayload), `${where}\njob: ${JSON.stringify(job?.data).slice(0, 500)}`).toBe(true);
            if (idempotencyKey !== undefined) remembered.set(idempotencyKey, { fingerprint, body: accepted, payload: job?.data });
          }
        }),
        // No shrinking: the Idempotency-Key model is stateful. A short report: bodies are big.
        { numRuns: RUNS, seed: SEED + index, endOnFailure: true, reporter: shortReport },
      );
    }
    const jobs = await api.commands.getJobCounts('waiting', 'prioritized', 'delayed');
    console.log(`[fuzz-intake] seed=${SEED} runsPerRoute=${RUNS} duration=${Date.now() - started}ms jobsOnQueue=${JSON.stringify(jobs)}`);
    for (const [type, statuses] of Object.entries(table)) {
      const other = Object.entries(statuses).filter(([status]) => status !== '202' && status !== '400');
      console.log(
        `[fuzz-intake] ${type.padEnd(14)} 202=${statuses[202] ?? 0} 400=${statuses[400] ?? 0} ` +
          `other=${other.reduce((sum, [, n]) => sum + n, 0)} (${other.map(([status, n]) => `${status}:${n}`).join(' ')})`,
      );
    }
    // Every route saw both outcomes, so the generators reach both sides of the contract.
    for (const statuses of Object.values(table)) {
      expect(statuses[202] ?? 0).toBeGreaterThan(RUNS / 20);
      expect(statuses[400] ?? 0).toBeGreaterThan(RUNS / 20);
    }
  });
});

function shortReport<T>(details: fc.RunDetails<T>): void {
  if (!details.failed) return;
  const cut = (text: string) => (text.length > 3000 ? `${text.slice(0, 3000)}… (${text.length} chars)` : text);
  const error = details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance);
  throw new Error(
    `property failed after ${details.numRuns} runs (seed ${details.seed} = FUZZ_SEED ${SEED} + route index; path ${details.counterexamplePath}):\n` +
      `${cut(error)}\ncounterexample: ${cut(fc.stringify(details.counterexample))}`,
  );
}

function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}
