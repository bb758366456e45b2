// Per-aggregate FIFO end to end (docs/adr/0006-per-aggregate-ordering.md): a shop sends
// Place → Confirm → Ship for an order without waiting between them, as soon as each 202 is
// back, for 1,000 orders at once. Two worker processes take the commands; one is SIGKILLed
// in the middle of the run. Every command must succeed: Confirm never runs before Place has
// committed, Ship never before Confirm.
import { beforeAll, describe, expect, it } from 'vitest';
import { ApiClient } from '../support/api-client.js';
import { stackEnv, systemOnFreshDatabase } from '../support/processes.js';
import { waitFor } from '../support/wait.js';

const ROUNDS = 1000;
const CLIENTS = 25;

const system = systemOnFreshDatabase();
const { processes } = system;
let api: ApiClient;
let env: Record<string, string>;

beforeAll(async () => {
  // A short lock: the jobs the killed worker held go to the other one within seconds.
  env = stackEnv(system.url, { WORKER_CONCURRENCY: '16', WORKER_LOCK_MS: '3000' });
  const [web] = await Promise.all([
    processes.startWeb(env),
    processes.startWorker('worker', env, 'worker-1'),
    processes.startWorker('worker', env, 'worker-2'),
  ]);
  api = new ApiClient(web.baseUrl);
}, 90_000);

const send = (path: string, body: unknown = {}) => api.accept(path, body);

describe('commands on one order, sent back to back', () => {
  it(`run in the order they were accepted: ${ROUNDS} rounds of Place → Confirm → Ship, two workers, one SIGKILLed`, async () => {
    const user = await send('/v1/users', { email: 'shop@example.com', name: 'Shop' });
    const products = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        send('/v1/products', { sku: `FIFO-${i}`, name: `Product ${i}`, price: { amount: '1.00', currency: 'EUR' }, stock: ROUNDS }),
      ),
    );
    const setUp = [user, ...products].map((accepted) => accepted.commandId);
    await waitFor(
      async () => Number((await system.db.query('select count(*) as n from processed_commands')).rows[0].n) === setUp.length,
      30_000,
      () => `the set-up commands\n${processes.output()}`,
    );

    const rounds: { orderId: string; commands: string[] }[] = [];
    let next = 0;
    let killedAfter = -1;
    const started = Date.now();
    const client = async () => {
      while (next < ROUNDS) {
        const round = next++;
        if (round === Math.floor(ROUNDS / 3) && killedAfter < 0) {
          killedAfter = round;
          // No shutdown code runs: the jobs it held come back as stalled once their lock lapses.
          processes.get('worker-2')?.child.kill('SIGKILL');
        }
        const productId = products[round % products.length]!.productId!;
        const placed = await send('/v1/orders', { userId: user.userId, items: [{ productId, quantity: 1 }] });
        const orderId = placed.orderId!;
        const confirmed = await send(`/v1/orders/${orderId}/confirm`);
        const shipped = await send(`/v1/orders/${orderId}/ship`);
        rounds.push({ orderId, commands: [placed.commandId, confirmed.commandId, shipped.commandId] });
      }
    };
    await Promise.all(Array.from({ length: CLIENTS }, client));
    const sentMs = Date.now() - started;

    const commandIds = rounds.flatMap((round) => round.commands);
    const outcomes = async () => {
      const { rows } = await system.db.query<{ status: string; n: string }>(
        'select status, count(*) as n from processed_commands where command_id = any($1::uuid[]) group by status',
        [commandIds],
      );
      return Object.fromEntries(rows.map((row) => [row.status, Number(row.n)]));
    };
    await waitFor(
      async () => Object.values(await outcomes()).reduce((a, b) => a + b, 0) === commandIds.length,
      120_000,
      async () => `every command to settle: ${JSON.stringify(await outcomes())}\n${processes.output()}`,
    );
    const settledMs = Date.now() - started;

    // Every command applied, in order: each one's outcome was committed no earlier than its
    // predecessor's (one group transaction may commit both at once).
    const { rows: late } = await system.db.query<{ n: string }>(
      `select count(*) as n from unnest($1::uuid[], $2::uuid[]) as link(before_id, after_id)
         join processed_commands b on b.command_id = link.before_id
         join processed_commands a on a.command_id = link.after_id
        where a.processed_at < b.processed_at`,
      [rounds.flatMap((r) => [r.commands[0], r.commands[1]]), rounds.flatMap((r) => [r.commands[1], r.commands[2]])],
    );
    const { rows: statuses } = await system.db.query<{ status: string; n: string }>(
      'select status, count(*) as n from orders where id = any($1::uuid[]) group by status',
      [rounds.map((round) => round.orderId)],
    );
    const failures = await system.db.query<{ command_type: string; error: unknown }>(
      `select command_type, error from processed_commands where command_id = any($1::uuid[]) and status = 'failed' limit 5`,
      [commandIds],
    );
    console.log(
      `[ordering] ${ROUNDS} rounds from ${CLIENTS} clients: sent in ${sentMs} ms, all settled after ${settledMs} ms; ` +
        `worker-2 SIGKILLed after round ${killedAfter}; outcomes ${JSON.stringify(await outcomes())}`,
    );
    expect(killedAfter).toBeGreaterThan(0);
    expect(processes.get('worker-2')?.child.signalCode).toBe('SIGKILL');
    expect(failures.rows).toEqual([]);
    expect(await outcomes()).toEqual({ succeeded: 3 * ROUNDS });
    expect(Number(late[0]!.n)).toBe(0);
    expect(statuses.map((row) => [row.status, Number(row.n)])).toEqual([['shipped', ROUNDS]]);
  }, 240_000);
});
