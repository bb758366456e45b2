import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/infrastructure/config.js';
import { createLogger } from '../../src/infrastructure/logger.js';
import { WebhookSecretCipher } from '../../src/infrastructure/webhooks/secret-cipher.js';
import { generateWebhookSecret } from '../../src/infrastructure/webhooks/signing.js';
import type { Infrastructure } from '../../src/main/infrastructure.js';
import type { RunningWorker } from '../../src/main/roles/queue-worker.js';
import { startRelay, type RunningRelay } from '../../src/main/roles/relay.js';
import { buildWeb, type RunningWeb } from '../../src/main/roles/web.js';
import { startWebhooks } from '../../src/main/roles/webhooks.js';
import { CapturedLogs } from '../unit/support/api.js';
import { adminQuery, withDatabase } from '../support/database.js';
import { infrastructureOnFreshDatabase, publishRestocks } from '../support/infrastructure.js';
import { newId } from '../support/orm.js';
import { HttpReceiver, verifies } from '../support/receivers.js';
import { waitFor } from '../support/wait.js';

// Webhook secrets encrypted at rest (docs/adr/0015-webhook-secrets-at-rest.md), on the real
// wiring: the web app (through app.inject), the relay, the webhooks worker sending to real HTTP
// receivers, and the release step and `npm run webhooks:reencrypt` run as real processes.
// Each test reads the stored columns with SQL, and verifies what receivers got with the
// Standard Webhooks reference library and the secret the API showed.

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const RELEASE = 'src/main/entries/migrate.ts';
const REENCRYPT = 'src/main/entries/webhooks-reencrypt.ts';

const KEY_A = randomBytes(32);
const KEY_B = randomBytes(32);
const KEY_Z = randomBytes(32);
const A = `a:${KEY_A.toString('base64')}`;
const B = `b:${KEY_B.toString('base64')}`;
const Z = `zz:${KEY_Z.toString('base64')}`;

const keys = (value: string) => loadConfig({ NODE_ENV: 'test', WEBHOOK_SECRET_KEYS: value }).webhookSecretKeys;
const cipher = (value: string) => new WebhookSecretCipher(keys(value));

let infra: Infrastructure;
let web: RunningWeb;
let relay: RunningRelay;
let worker: RunningWorker;
const logs = new CapturedLogs();
const receivers: HttpReceiver[] = [];

beforeAll(async () => {
  // One retry, at once: a delivery that cannot be sent fails after two attempts.
  infra = await infrastructureOnFreshDatabase(
    { WEBHOOK_ALLOW_PRIVATE: 'true', WEBHOOK_RETRY_SCHEDULE: '0', WEBHOOK_SECRET_KEYS: A },
    'test-secrets',
  );
  // The web and webhooks processes log at debug into `logs`, through the production logger.
  const logger = createLogger({ level: 'debug', role: 'test', destination: logs.stream });
  web = await buildWeb({ ...infra, logger });
  relay = await startRelay(infra, { pollIntervalMs: 100 });
  worker = startWebhooks({ ...infra, logger });
});

afterEach(async () => {
  await Promise.all(receivers.splice(0).map((receiver) => receiver.close()));
  // The next test's events go to its own endpoints only (their rows, and secrets, stay).
  await infra.pool.query('update webhook_endpoints set deleted_at = now() where deleted_at is null');
});

afterAll(async () => {
  await worker?.stop(5000);
  await relay?.stop();
  await web?.stop();
  await infra?.close();
});

/** Replaces the webhooks worker by one whose WEBHOOK_SECRET_KEYS is `value` (a restart with a new environment). */
async function restartWorkerWith(value: string): Promise<void> {
  await worker.stop(5000);
  const logger = createLogger({ level: 'debug', role: 'test', destination: logs.stream });
  worker = startWebhooks({ ...infra, logger, config: { ...infra.config, webhookSecretKeys: keys(value) } });
}

const headers = { authorization: 'Bearer test-key' };
const call = (method: 'GET' | 'POST', url: string, payload?: object) =>
  web.app.inject({ method, url, headers, ...(payload === undefined ? {} : { payload }) });

async function receiver(): Promise<HttpReceiver> {
  const started = await HttpReceiver.start(() => ({ status: 204 }));
  receivers.push(started);
  return started;
}

async function createEndpoint(url: string): Promise<{ id: string; secret: string }> {
  const response = await call('POST', '/v1/webhook-endpoints', { url, eventTypes: ['product.restocked'] });
  expect(response.statusCode, response.body).toBe(201);
  return response.json();
}

async function rotate(id: string): Promise<string> {
  const response = await call('POST', `/v1/webhook-endpoints/${id}/rotate-secret`);
  expect(response.statusCode, response.body).toBe(200);
  return response.json<{ secret: string }>().secret;
}

/** An endpoint row written with SQL, as a release before this change (or an attacker) would. */
async function insertEndpoint(url: string, secret: string, previous?: string, id = newId()): Promise<string> {
  await infra.pool.query(
    `insert into webhook_endpoints (id, url, event_types, secret, previous_secret, previous_secret_expires_at, enabled, created_at)
     values ($1, $2, '["product.restocked"]'::jsonb, $3, $4, $5, true, now())`,
    [id, url, secret, previous ?? null, previous ? new Date(Date.now() + 3600_000) : null],
  );
  return id;
}

const stored = async (id: string) =>
  (await infra.pool.query<{ secret: string; previous_secret: string | null }>('select secret, previous_secret from webhook_endpoints where id = $1', [id])).rows[0]!;

/** The base64 part of a `whsec_` secret: what must never be found at rest. */
const material = (secret: string) => secret.slice('whsec_'.length);

const publish = (n = 1) => publishRestocks(infra.pool, n);

/** Runs an entry point as a real process (through tsx) on this file's database; its exit code and output. */
async function run(entry: string, env: Record<string, string>): Promise<{ code: number; output: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', entry], {
    cwd: ROOT,
    env: { ...process.env, NODE_ENV: 'test', DATABASE_URL: infra.config.databaseUrl, LOG_LEVEL: 'silent', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const [code] = (await once(child, 'exit')) as [number | null];
  return { code: code ?? -1, output };
}

interface DeliveryJson {
  status: string;
  attempts: number;
  lastError: string | null;
}
const deliveriesOf = async (endpointId: string) =>
  (await call('GET', `/v1/webhook-endpoints/${endpointId}/deliveries`)).json<{ items: DeliveryJson[] }>().items;

// The release step and the re-encrypt command run as processes through tsx: seconds each.
describe('webhook secrets at rest', { timeout: 120_000 }, () => {
  it('registration shows the secret once; the row holds only ciphertext; listing, GET and logs never show it; deliveries verify', async () => {
    const hook = await receiver();
    const { id, secret } = await createEndpoint(hook.url);

    const row = await stored(id);
    expect(row.secret).toMatch(/^enc:v1:a:/);
    expect(row.secret).not.toContain(material(secret));
    expect(JSON.stringify((await call('GET', '/v1/webhook-endpoints')).json())).not.toContain('whsec_');
    expect(JSON.stringify((await call('GET', `/v1/webhook-endpoints/${id}`)).json())).not.toContain('whsec_');

    // A rotation: both columns encrypted, each under its own column; the overlap signs with both.
    const rotated = await rotate(id);
    const after = await stored(id);
    for (const value of [after.secret, after.previous_secret ?? '']) {
      expect(value).toMatch(/^enc:v1:a:/);
      expect(value).not.toContain(material(secret));
      expect(value).not.toContain(material(rotated));
    }
    expect(after.secret).not.toBe(row.secret);
    await publish(3);
    await waitFor(async () => hook.requests.length === 3);
    for (const request of hook.requests) {
      expect(verifies(rotated, request)).toBe(true);
      expect(verifies(secret, request)).toBe(true);
    }
    await waitFor(async () => logs.text().includes('"msg":"webhook delivered"'));
    expect(logs.text()).not.toContain(material(secret));
    expect(logs.text()).not.toContain(material(rotated));
  });

  it('the release step encrypts secrets stored in plaintext before this change, and deliveries still verify', async () => {
    const hook = await receiver();
    const [secret, previous] = [generateWebhookSecret(), generateWebhookSecret()];
    const id = await insertEndpoint(hook.url, secret, previous);

    const release = await run(RELEASE, { WEBHOOK_SECRET_KEYS: A });
    expect(release.code, release.output).toBe(0);
    expect(release.output).toMatch(/webhook secrets under key "a": 2 encrypted \(were plaintext\), 0 re-encrypted/);
    const row = await stored(id);
    expect(row.secret).toMatch(/^enc:v1:a:/);
    expect(row.previous_secret).toMatch(/^enc:v1:a:/);
    const text = `${row.secret} ${row.previous_secret}`;
    expect(text).not.toContain(material(secret));
    expect(text).not.toContain(material(previous));

    await publish();
    await waitFor(async () => hook.requests.length === 1);
    expect(verifies(secret, hook.requests[0]!)).toBe(true);
    expect(verifies(previous, hook.requests[0]!)).toBe(true);

    // Running it again changes nothing.
    const again = await run(RELEASE, { WEBHOOK_SECRET_KEYS: A });
    expect(again.code, again.output).toBe(0);
    expect(again.output).toMatch(/: 0 encrypted \(were plaintext\), 0 re-encrypted from an older key, \d+ already current, 0 unreadable/);
  });

  it('rotating the encryption key: add the new key, re-encrypt, drop the old one; deliveries keep verifying', async () => {
    const hook = await receiver();
    const { id, secret } = await createEndpoint(hook.url);
    const rotated = await rotate(id);
    const { rows: before } = await infra.pool.query<{ n: number }>(
      `select (count(secret) + count(previous_secret))::int as n from webhook_endpoints`,
    );

    // Step 1-2: the new key first, the old one still there to decrypt. Then the operator command.
    const reencrypt = await run(REENCRYPT, { WEBHOOK_SECRET_KEYS: `${B},${A}` });
    expect(reencrypt.code, reencrypt.output).toBe(0);
    expect(reencrypt.output).toContain(`webhook secrets under key "b": 0 encrypted (were plaintext), ${before[0]!.n} re-encrypted from an older key`);
    expect(reencrypt.output).toContain('older keys may now be removed from WEBHOOK_SECRET_KEYS');
    const { rows } = await infra.pool.query<{ value: string }>(
      `select secret as value from webhook_endpoints union all select previous_secret from webhook_endpoints where previous_secret is not null`,
    );
    expect(rows.length).toBe(before[0]!.n);
    for (const { value } of rows) expect(value).toMatch(/^enc:v1:b:/);

    // Step 3: the old key dropped. Deliveries sign with the secrets given at registration and rotation.
    await restartWorkerWith(B);
    await publish(2);
    await waitFor(async () => hook.requests.length === 2);
    for (const request of hook.requests) {
      expect(verifies(rotated, request)).toBe(true);
      expect(verifies(secret, request)).toBe(true);
    }
    const check = await run(REENCRYPT, { WEBHOOK_SECRET_KEYS: B });
    expect(check.code, check.output).toBe(0);
    expect(check.output).toContain(`0 re-encrypted from an older key, ${before[0]!.n} already current, 0 unreadable`);
  });

  it('a secret under an unknown key, altered, or copied from another endpoint is refused with a clear reason; the worker carries on', async () => {
    const bad = await receiver();
    const good = await receiver();
    const current = cipher(B); // the worker's keys since the previous test
    const secret = generateWebhookSecret();

    const unknownKey = newId();
    await insertEndpoint(bad.url, cipher(Z).seal(secret, { endpointId: unknownKey, column: 'secret' }), undefined, unknownKey);
    const tampered = newId();
    const sealed = current.seal(secret, { endpointId: tampered, column: 'secret' });
    const last = sealed.at(-2) === 'A' ? 'B' : 'A';
    await insertEndpoint(bad.url, `${sealed.slice(0, -2)}${last}${sealed.at(-1)}`, undefined, tampered);
    const healthy = newId();
    await insertEndpoint(good.url, current.seal(secret, { endpointId: healthy, column: 'secret' }), undefined, healthy);
    const copied = await insertEndpoint(bad.url, (await stored(healthy)).secret);

    await publish();
    await waitFor(async () => good.requests.length === 1);
    expect(verifies(secret, good.requests[0]!)).toBe(true);
    const reasons = {
      [unknownKey]: 'encrypted with key id "zz", which WEBHOOK_SECRET_KEYS does not hold (it holds "b"): add that key back',
      [tampered]: 'does not authenticate under key "b": it was altered, or copied from another endpoint or column',
      [copied]: 'does not authenticate under key "b"',
    };
    for (const [endpointId, reason] of Object.entries(reasons)) {
      const [delivery] = await waitFor(async () => {
        const items = await deliveriesOf(endpointId);
        return items[0]?.status === 'failed' ? items : undefined;
      });
      expect(delivery).toMatchObject({ status: 'failed', attempts: 2 });
      expect(delivery?.lastError).toContain('not sent: the signing secret cannot be read');
      expect(delivery?.lastError).toContain(reason);
    }
    expect(bad.requests).toEqual([]);
    // Still enabled: the receivers did nothing wrong.
    expect((await call('GET', `/v1/webhook-endpoints/${unknownKey}`)).json()).toMatchObject({ enabled: true, failingSince: null });

    // The worker is still running and delivering.
    await publish();
    await waitFor(async () => good.requests.length === 2);

    // The re-encrypt command and the release step name each value and exit 1.
    for (const entry of [REENCRYPT, RELEASE]) {
      const result = await run(entry, { WEBHOOK_SECRET_KEYS: B });
      expect(result.code, result.output).toBe(1);
      expect(result.output).toContain('3 unreadable');
      for (const [endpointId, reason] of Object.entries(reasons)) {
        expect(result.output).toContain(`unreadable: the secret of webhook endpoint ${endpointId}`);
        expect(result.output).toContain(reason);
      }
    }

    // The missing key added back: a replay of the delivery goes out, signed with the secret.
    await restartWorkerWith(`${B},${Z}`);
    const failed = (await call('GET', `/v1/webhook-endpoints/${unknownKey}/deliveries`)).json<{ items: { id: string }[] }>().items[0]!;
    expect((await call('POST', `/v1/webhook-deliveries/${failed.id}/replay`)).statusCode).toBe(202);
    await waitFor(async () => bad.requests.length === 1);
    expect(verifies(secret, bad.requests[0]!)).toBe(true);

    await infra.pool.query('delete from webhook_delivery_attempts where delivery_id in (select id from webhook_deliveries where endpoint_id = any($1))', [[unknownKey, tampered, copied]]);
    await infra.pool.query('delete from webhook_deliveries where endpoint_id = any($1)', [[unknownKey, tampered, copied]]);
    await infra.pool.query('delete from webhook_endpoints where id = any($1)', [[unknownKey, tampered, copied]]);
  });
});

describe('upgrading a database of conveyor 0.1.0', { timeout: 120_000 }, () => {
  const name = `conveyor_test_secrets_upgrade_${process.pid}_${Date.now()}`;
  afterAll(() => adminQuery(`drop database if exists ${name} with (force)`));

  it('the release step migrates it and encrypts the plaintext secret the old release stored', async () => {
    await adminQuery(`create database ${name}`);
    const url = withDatabase(name);
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    const id = newId();
    const secret = generateWebhookSecret();
    try {
      await client.query(readFileSync(new URL('./fixtures/database-migrated-by-0.1.0.sql', import.meta.url), 'utf8'));
      await client.query(
        `insert into webhook_endpoints (id, url, event_types, secret, enabled, created_at) values ($1, 'https://hooks.example.com/', '["*"]'::jsonb, $2, true, now())`,
        [id, secret],
      );
    } finally {
      await client.end();
    }

    const release = await run(RELEASE, { DATABASE_URL: url, WEBHOOK_SECRET_KEYS: A });
    expect(release.code, release.output).toBe(0);
    expect(release.output).toContain('Migration20261202150000-webhook-secrets-at-rest');
    expect(release.output).toContain('webhook secrets under key "a": 1 encrypted (were plaintext)');

    const reader = new pg.Client({ connectionString: url });
    await reader.connect();
    try {
      const { rows } = await reader.query<{ secret: string }>('select secret from webhook_endpoints where id = $1', [id]);
      expect(rows[0]?.secret).toMatch(/^enc:v1:a:/);
      expect(rows[0]?.secret).not.toContain(material(secret));
      expect(cipher(A).open(rows[0]!.secret, { endpointId: id, column: 'secret' })).toBe(secret);
    } finally {
      await reader.end();
    }
  });
});
