// Scopes (docs/adr/0011-api-keys-and-scopes.md): every /v1 route needs exactly the scope of its
// group, a key without it gets 403 problem+json naming it, and a key with only that scope gets
// past access control. Every route of the OpenAPI document is checked, so a route added later
// without a scope, or under the wrong one, fails here.
import { createHash } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { SCOPES, type Principal, type Scope } from '../../../src/application/access/principal.js';
import { inMemoryApi } from '../support/api.js';

const hash = (key: string) => createHash('sha256').update(key).digest('hex');

function principal(name: string, scopes: readonly Scope[]): Principal {
  return { keyId: `id-${name}`, name, scopes: new Set(scopes), rateLimitPerMinute: null };
}

/** The scope each route needs, by "METHOD path" as the OpenAPI document names it. */
const EXPECTED: Record<string, Scope | Scope[]> = {
  'POST /v1/users': 'commands:write',
  'POST /v1/products': 'commands:write',
  'POST /v1/products/{productId}/restock': 'commands:write',
  'POST /v1/orders': 'commands:write',
  'POST /v1/orders/{orderId}/confirm': 'commands:write',
  'POST /v1/orders/{orderId}/ship': 'commands:write',
  'POST /v1/orders/{orderId}/deliver': 'commands:write',
  'POST /v1/orders/{orderId}/cancel': 'commands:write',
  'DELETE /v1/commands/{commandId}': 'commands:write',
  'GET /v1/commands/{commandId}': 'queries:read',
  'GET /v1/commands/{commandId}/events': 'queries:read',
  'GET /v1/orders/{orderId}': 'queries:read',
  'GET /v1/products/{productId}': 'queries:read',
  'GET /v1/users/{userId}/orders': 'queries:read',
  'GET /v1/users/{userId}/order-summary': 'queries:read',
  'GET /v1/commands': 'operations',
  'POST /v1/commands/retry': 'operations',
  'GET /v1/emails': 'operations',
  'POST /v1/emails/{id}/resend': 'operations',
  // A schedule sends commands: it needs commands:write as well.
  'POST /v1/schedules': ['operations', 'commands:write'],
  'GET /v1/schedules': 'operations',
  'GET /v1/schedules/{id}': 'operations',
  'GET /v1/schedules/{id}/runs': 'operations',
  'DELETE /v1/schedules/{id}': 'operations',
  'POST /v1/webhook-endpoints': 'webhooks:manage',
  'GET /v1/webhook-endpoints': 'webhooks:manage',
  'GET /v1/webhook-endpoints/{id}': 'webhooks:manage',
  'PATCH /v1/webhook-endpoints/{id}': 'webhooks:manage',
  'DELETE /v1/webhook-endpoints/{id}': 'webhooks:manage',
  'POST /v1/webhook-endpoints/{id}/rotate-secret': 'webhooks:manage',
  'POST /v1/webhook-endpoints/{id}/test': 'webhooks:manage',
  'GET /v1/webhook-endpoints/{id}/deliveries': 'webhooks:manage',
  'POST /v1/webhook-endpoints/{id}/replay': 'webhooks:manage',
  'POST /v1/webhook-deliveries/{deliveryId}/replay': 'webhooks:manage',
};

const ID = '01930000-0000-7000-8000-00000000abcd';
const keys = new Map<string, Principal>();
const keyWithout = (scope: Scope) => `without-${scope}`;
/** A key with exactly `scopes` (made on first use). */
function keyWithOnly(scopes: readonly Scope[]): string {
  const key = `only-${scopes.join('+')}`;
  keys.set(hash(key), principal(key, scopes));
  return key;
}
for (const scope of SCOPES) {
  keys.set(hash(keyWithout(scope)), principal(keyWithout(scope), SCOPES.filter((s) => s !== scope)));
}
keys.set(hash('no-scopes'), principal('no-scopes', []));

let app: FastifyInstance;
let routes: { method: string; path: string; url: string }[];

beforeAll(async () => {
  ({ app } = await inMemoryApi({ apiKeys: { lookup: (h) => keys.get(h) } }));
  await app.ready();
  const document = app.swagger() as { paths: Record<string, Record<string, unknown>> };
  routes = Object.entries(document.paths)
    .filter(([path]) => path.startsWith('/v1/'))
    .flatMap(([path, operations]) =>
      Object.keys(operations).map((method) => ({ method: method.toUpperCase(), path, url: path.replace(/\{[^}]+\}/g, ID) })),
    );
});
afterAll(async () => {
  await app.close();
});

describe('scopes', () => {
  test('the document lists exactly the routes of the table', () => {
    expect(routes.map((route) => `${route.method} ${route.path}`).sort()).toEqual(Object.keys(EXPECTED).sort());
  });

  test('a key without the route\'s scope gets 403 naming the scope; one with only that scope gets through', async () => {
    for (const route of routes) {
      const expected = EXPECTED[`${route.method} ${route.path}`]!;
      const needed = typeof expected === 'string' ? [expected] : expected;
      for (const scope of needed) {
        const refused = await app.inject({ method: route.method as 'GET', url: route.url, headers: { authorization: `Bearer ${keyWithout(scope)}` } });
        expect(refused.statusCode, `${route.method} ${route.path}`).toBe(403);
        expect(refused.headers['content-type']).toMatch(/^application\/problem\+json/);
        expect(refused.json()).toMatchObject({ status: 403, scope, detail: expect.stringContaining(`"${scope}"`) });
      }

      const allowed = await app.inject({
        method: route.method as 'GET',
        url: route.url,
        headers: { authorization: `Bearer ${keyWithOnly(needed)}`, ...(route.method === 'GET' ? {} : { 'content-type': 'application/json' }) },
        ...(route.method === 'GET' || route.method === 'DELETE' ? {} : { payload: '{}' }),
      });
      // Past access control the request is judged on its own merits (a 400 for the empty
      // body, a 404, a 500 from the unwired test ports), never 401 or 403.
      expect([401, 403], `${route.method} ${route.path} → ${allowed.statusCode}`).not.toContain(allowed.statusCode);
    }
  });

  test('a key with no scopes can use no /v1 route, and an unknown key gets 401', async () => {
    for (const route of routes) {
      const response = await app.inject({ method: route.method as 'GET', url: route.url, headers: { authorization: 'Bearer no-scopes' } });
      expect(response.statusCode, `${route.method} ${route.path}`).toBe(403);
    }
    const unknown = await app.inject({ method: 'GET', url: `/v1/orders/${ID}`, headers: { authorization: 'Bearer not-a-key' } });
    expect(unknown.statusCode).toBe(401);
    expect(unknown.headers['www-authenticate']).toContain('invalid_token');
  });
});
