// API keys as principals, end to end (docs/adr/0011-api-keys-and-scopes.md): the operator's CLI
// creates and revokes keys in PostgreSQL; two web processes authenticate with them, refuse a
// route outside a key's scopes, and refuse a revoked key within 5 s; the worker records the key
// that sent each command; no key is ever stored or logged in plaintext.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../support/database.js';
import { ApiClient } from '../support/api-client.js';
import { ProcessGroup, stackEnv } from '../support/processes.js';
import { sleep, waitFor } from '../support/wait.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const run = promisify(execFile);

let drop: () => Promise<void>;
let db: pg.Client;
let env: Record<string, string>;
const processes = new ProcessGroup();
let webA: string;
let webB: string;

interface CreatedKey {
  id: string;
  name: string;
  prefix: string;
  scopes: string[];
  key: string;
}

/** Runs the keys CLI as an operator would (`npm run keys -- …`), as its own process. */
async function keysCli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', 'src/main/entries/keys.ts', ...args], {
      cwd: ROOT,
      env: { ...process.env, ...env, LOG_LEVEL: 'warn' },
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

async function createKey(name: string, scopes: string): Promise<CreatedKey> {
  const result = await keysCli('create', '--name', name, '--scopes', scopes, '--json');
  expect(result.code, result.stderr).toBe(0);
  return JSON.parse(result.stdout) as CreatedKey;
}

/** The first answer that is not 401: a new key is accepted once each web process has read it (within a second). */
async function untilAccepted(client: ApiClient, send: () => ReturnType<ApiClient['get']>) {
  let last: Awaited<ReturnType<ApiClient['get']>> | undefined;
  await waitFor(async () => {
    last = await send();
    return last.status !== 401;
  }, 5_000, () => `${client.baseUrl} to accept the new key`);
  return last!;
}

beforeAll(async () => {
  const database = await createTestDatabase();
  drop = database.drop;
  db = new pg.Client({ connectionString: database.url });
  await db.connect();
  env = stackEnv(database.url, { LOG_LEVEL: 'info' });
  const [a, b] = await Promise.all([
    processes.startWeb(env, 'web-a').then((web) => web.baseUrl),
    processes.startWeb(env, 'web-b').then((web) => web.baseUrl),
  ]);
  webA = a;
  webB = b;
  await processes.startWorker('worker', env);
}, 120_000);

afterAll(async () => {
  await processes.stopAll();
  await db?.end();
  await drop?.();
});

describe('API keys in PostgreSQL', () => {
  const keys: CreatedKey[] = [];

  it('the CLI prints a new key once; a key with commands:write sends a command, which records the key by name', async () => {
    const shop = await createKey('shop', 'commands:write,queries:read');
    keys.push(shop);
    expect(shop.key).toMatch(/^cvk_[0-9a-f]{8}_[A-Za-z0-9_-]{43}$/);
    expect(shop.scopes).toEqual(['commands:write', 'queries:read']);

    const client = new ApiClient(webB, shop.key);
    const accepted = await untilAccepted(client, () => client.post('/v1/users', { email: 'ada@example.com', name: 'Ada' }));
    expect(accepted.status, JSON.stringify(accepted.body)).toBe(202);
    const { commandId } = accepted.body as { commandId: string };
    const status = await client.settled(commandId);
    expect(status).toMatchObject({ status: 'succeeded', sentBy: 'shop' });
    const { rows } = await db.query('select sent_by, sent_by_key_id from processed_commands where command_id = $1', [commandId]);
    expect(rows).toEqual([{ sent_by: 'shop', sent_by_key_id: shop.id }]);
    // The intake's and the worker's log lines of the command name the key.
    await waitFor(async () => processes.outputOf('worker').includes(commandId), 5_000, () => 'the worker to log the command');
    const workerLine = processes.outputOf('worker').split('\n').find((line) => line.includes(commandId) && line.includes('command succeeded'));
    expect(JSON.parse(workerLine!)).toMatchObject({ sentBy: 'shop' });
    const intakeLine = processes.outputOf('web-b').split('\n').find((line) => line.includes(commandId) && line.includes('command accepted'));
    expect(JSON.parse(intakeLine!)).toMatchObject({ apiKeyName: 'shop' });
  });

  it('a key with queries:read only gets 403 naming commands:write on every command route, and can read', async () => {
    const reader = await createKey('dashboard', 'queries:read');
    keys.push(reader);
    const client = new ApiClient(webA, reader.key);
    const order = '01930000-0000-7000-8000-0000000000aa';
    const read = await untilAccepted(client, () => client.get(`/v1/orders/${order}`));
    expect(read.status).toBe(404);
    const routes = [
      '/v1/users',
      '/v1/products',
      `/v1/products/${order}/restock`,
      '/v1/orders',
      `/v1/orders/${order}/confirm`,
      `/v1/orders/${order}/ship`,
      `/v1/orders/${order}/deliver`,
      `/v1/orders/${order}/cancel`,
    ];
    for (const route of routes) {
      const refused = await client.post(route, {});
      expect(refused.status, route).toBe(403);
      expect(refused.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(refused.body).toMatchObject({ status: 403, scope: 'commands:write' });
    }
    const cancel = await client.request('DELETE', `/v1/commands/${order}`);
    expect(cancel.status).toBe(403);
    const webhooks = await client.get('/v1/webhook-endpoints');
    expect(webhooks.body).toMatchObject({ status: 403, scope: 'webhooks:manage' });
  });

  it('a revoked key gets 401 from both web processes within 5 s', async () => {
    const shop = keys[0]!;
    const a = new ApiClient(webA, shop.key);
    const b = new ApiClient(webB, shop.key);
    await untilAccepted(a, () => a.get(`/v1/orders/01930000-0000-7000-8000-0000000000ab`));
    const revoked = await keysCli('revoke', shop.prefix);
    expect(revoked.code, revoked.stderr).toBe(0);
    expect(revoked.stdout).toContain('revoked key "shop"');
    const revokedAt = Date.now();
    const refusedAt: Record<string, number> = {};
    while (Object.keys(refusedAt).length < 2 && Date.now() - revokedAt < 10_000) {
      for (const [name, client] of [['a', a], ['b', b]] as const) {
        if (refusedAt[name] === undefined && (await client.get('/v1/orders/01930000-0000-7000-8000-0000000000ab')).status === 401) {
          refusedAt[name] = Date.now() - revokedAt;
        }
      }
      await sleep(50);
    }
    expect(refusedAt.a, 'web-a refused the key after (ms)').toBeLessThan(5_000);
    expect(refusedAt.b, 'web-b refused the key after (ms)').toBeLessThan(5_000);
    const refused = await b.post('/v1/users', { email: 'x@example.com', name: 'X' });
    expect(refused.status).toBe(401);
    expect(refused.body).toMatchObject({ detail: expect.stringContaining('revoked') });
    // Revoking it again finds no active key.
    expect((await keysCli('revoke', shop.prefix)).code).toBe(1);
  });

  it('lists keys with their last use, and stores and logs no key in plaintext', async () => {
    await sleep(1_500); // one refresh: last use is written once a second, not per request
    const listed = await keysCli('list', '--json');
    const list = JSON.parse(listed.stdout) as { name: string; lastUsedAt: string | null; revokedAt: string | null }[];
    expect(list.map((key) => [key.name, key.lastUsedAt !== null, key.revokedAt !== null])).toEqual([
      ['shop', true, true],
      ['dashboard', true, false],
    ]);
    expect(listed.stdout).not.toContain(keys[0]!.key);

    const table = JSON.stringify((await db.query('select * from api_keys')).rows);
    const logs = processes.output(Number.MAX_SAFE_INTEGER);
    for (const key of keys) {
      expect(table).not.toContain(key.key);
      expect(table).toContain(key.prefix);
      expect(logs).not.toContain(key.key);
      // Not even the secret part alone.
      expect(logs).not.toContain(key.key.slice(key.prefix.length + 1));
    }
  });

  it('the CLI refuses bad input with a reason and creates nothing', async () => {
    const before = (await db.query('select count(*)::int as n from api_keys')).rows[0].n as number;
    const unknownScope = await keysCli('create', '--name', 'x', '--scopes', 'admin');
    expect(unknownScope.code).toBe(2);
    expect(unknownScope.stderr).toContain('unknown scope "admin"');
    const noName = await keysCli('create', '--scopes', 'operations');
    expect(noName.code).toBe(2);
    expect(noName.stderr).toContain('create needs --name and --scopes');
    expect((await db.query('select count(*)::int as n from api_keys')).rows[0].n).toBe(before);
  });
});
