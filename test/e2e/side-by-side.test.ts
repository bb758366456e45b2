import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../support/database.js';
import { waitFor } from '../support/wait.js';
import { HttpReceiver } from '../support/receivers.js';
import { ProcessGroup, stackEnv } from '../support/processes.js';

// Two relays and two webhook processes side by side (docs/design.md §7: every process type can run as
// many copies as needed): 1,000 events reach the receiver, each exactly under one webhook-id.

const EVENTS = 1000;
let db: { url: string; drop: () => Promise<void> };
let client: pg.Client;
let receiver: HttpReceiver;
const group = new ProcessGroup();

beforeAll(async () => {
  db = await createTestDatabase();
  client = new pg.Client({ connectionString: db.url });
  await client.connect();
  receiver = await HttpReceiver.start();
});

afterAll(async () => {
  await group.stopAll();
  await receiver.close();
  await client.end();
  await db.drop();
});

describe('two relays and two webhook processes', () => {
  it(`deliver ${EVENTS} events once each, with one webhook-id per event`, async () => {
    await client.query(
      `insert into webhook_endpoints (id, url, event_types, secret, enabled, created_at)
       values (gen_random_uuid(), $1, '["*"]', 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', true, now())`,
      [`${receiver.url}/hook`],
    );
    const env = stackEnv(db.url, { WEBHOOK_ALLOW_PRIVATE: 'true', WORKER_CONCURRENCY: '20', SWEEP_GRACE_MS: '60000' });
    await Promise.all([
      group.startWorker('relay', env, 'relay-1'),
      group.startWorker('relay', env, 'relay-2'),
      group.startWorker('webhooks', env, 'webhooks-1'),
      group.startWorker('webhooks', env, 'webhooks-2'),
    ]);

    // Commit events in ten batches, each waking the relays with NOTIFY as a command would.
    for (let batch = 0; batch < 10; batch++) {
      await client.query(
        `insert into outbox_messages (id, type, aggregate_type, aggregate_id, payload, occurred_at)
         select gen_random_uuid(), 'product.restocked', 'product', gen_random_uuid(), jsonb_build_object('n', n), now()
           from generate_series(1, $1::int) as n`,
        [EVENTS / 10],
      );
      await client.query(`select pg_notify('outbox', '')`);
    }

    const started = Date.now();
    await waitFor(async () => receiver.requests.length >= EVENTS, 90_000, `${EVENTS} deliveries\n${group.output()}`);
    // Let any duplicate in flight land before counting.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const seconds = (Date.now() - started) / 1000;

    const idsByEvent = new Map<string, Set<string>>();
    for (const request of receiver.requests) {
      const body = JSON.parse(request.body) as { data: { eventId: string } };
      const ids = idsByEvent.get(body.data.eventId) ?? new Set<string>();
      ids.add(String(request.headers['webhook-id']));
      idsByEvent.set(body.data.eventId, ids);
    }
    const duplicates = receiver.requests.length - idsByEvent.size;
    console.log(
      `side-by-side: ${EVENTS} events, ${receiver.requests.length} requests (${duplicates} duplicates) in ${seconds.toFixed(1)} s`,
    );
    expect(idsByEvent.size).toBe(EVENTS);
    expect([...idsByEvent.values()].filter((ids) => ids.size !== 1)).toEqual([]);
    const { rows } = await client.query<{ status: string; n: string }>(
      'select status, count(*) as n from webhook_deliveries group by status',
    );
    expect(rows).toEqual([{ status: 'delivered', n: String(EVENTS) }]);
    const published = await client.query<{ n: string }>('select count(*) as n from outbox_messages where published_at is null');
    expect(published.rows[0]?.n).toBe('0');
    // Both relays and both webhook processes took part.
    const relayed = group.output(1e9);
    expect(relayed, 'each webhooks process delivered some').toMatch(/webhooks-1[\s\S]*webhooks-2/);
  });
});
