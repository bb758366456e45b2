// Per-aggregate FIFO when a command does not simply succeed (docs/adr/0006-per-aggregate-ordering.md),
// under real web and worker processes:
// - ConfirmOrder meets a database that refuses it for a few seconds (a trigger raises a
//   serialization failure, which the worker retries): ShipOrder, sent right after it, waits —
//   its status says for which command — and succeeds once ConfirmOrder has;
// - meanwhile orders of other keys keep flowing (their time to settle is measured);
// - ConfirmOrder fails for good (the order was cancelled): ShipOrder still runs afterwards and
//   fails with its own invalid_transition, it does not hang.
import { beforeAll, describe, expect, it } from 'vitest';
import { ApiClient, type CommandStatus } from '../support/api-client.js';
import { stackEnv, systemOnFreshDatabase } from '../support/processes.js';
import { sleep, waitFor } from '../support/wait.js';

const REFUSAL_MS = 4000;
const OTHER_ROUNDS = 100;

const system = systemOnFreshDatabase();
const { processes } = system;
let api: ApiClient;

beforeAll(async () => {
  // While a row is in confirm_refusals, confirming an order fails as if the database had
  // aborted the transaction (SQLSTATE 40001): an infrastructure error, retried with backoff.
  await system.db.query(`
    create table confirm_refusals (order_id uuid primary key);
    create function refuse_confirm() returns trigger language plpgsql as $$
    begin
      if new.status = 'confirmed' and exists (select 1 from confirm_refusals where order_id = new.id) then
        raise exception 'could not serialize access (injected by the test)' using errcode = '40001';
      end if;
      return new;
    end $$;
    create trigger refuse_confirm before update on orders for each row execute function refuse_confirm();
  `);
  const env = stackEnv(system.url, { WORKER_CONCURRENCY: '8' });
  const [web] = await Promise.all([processes.startWeb(env), processes.startWorker('worker', env)]);
  api = new ApiClient(web.baseUrl);
}, 90_000);

const send = (path: string, body: unknown = {}) => api.accept(path, body);

/** The outcomes recorded for these commands. */
const settledIn = async (commandIds: string[]) =>
  (
    await system.db.query<{ command_id: string; at: Date; status: string }>(
      'select command_id, processed_at as at, status from processed_commands where command_id = any($1::uuid[])',
      [commandIds],
    )
  ).rows;

const status = async (commandId: string) => (await api.get<CommandStatus>(`/v1/commands/${commandId}`)).body;

/** A user and ten products; `place()` orders one unit of the next product (no hot row). */
async function shop() {
  const user = await send('/v1/users', { email: `buyer-${Date.now()}@example.com`, name: 'Buyer' });
  const products = await Promise.all(
    Array.from({ length: 10 }, (_, i) =>
      send('/v1/products', { sku: `ORD-${Date.now()}-${i}`, name: 'Thing', price: { amount: '3.00', currency: 'EUR' }, stock: 1000 }),
    ),
  );
  await Promise.all([user, ...products].map((accepted) => api.settled(accepted.commandId)));
  let n = 0;
  const place = () =>
    send('/v1/orders', { userId: user.userId, items: [{ productId: products[n++ % products.length]!.productId, quantity: 1 }] });
  return { place };
}

const percentile = (values: number[], p: number) => [...values].sort((a, b) => a - b)[Math.ceil((p / 100) * values.length) - 1] ?? NaN;

describe('per-aggregate ordering under failure', () => {
  it('a retrying command holds back the later commands of its key, and only those', async () => {
    const { place } = await shop();
    const placed = await place();
    const orderId = placed.orderId!;
    await system.db.query('insert into confirm_refusals values ($1)', [orderId]);
    const refusedAt = Date.now();
    const confirm = await send(`/v1/orders/${orderId}/confirm`);
    const ship = await send(`/v1/orders/${orderId}/ship`);

    // Ship waits behind Confirm, and says so.
    const waiting = await waitFor(
      async () => {
        const shipStatus = await status(ship.commandId);
        return shipStatus.waitingFor ? shipStatus : undefined;
      },
      REFUSAL_MS,
      async () => `ShipOrder to wait for ConfirmOrder: ${JSON.stringify(await status(ship.commandId))}\n${processes.output()}`,
    );
    expect(waiting).toMatchObject({ status: 'queued', waitingFor: confirm.commandId });

    // Other orders go on meanwhile: rounds of Place → Confirm from ten clients, each settled
    // (read from processed_commands, so that polling does not load the machine) while the
    // one Confirm is refused.
    const sentAt = new Map<string, number>();
    let next = 0;
    await Promise.all(
      Array.from({ length: 10 }, async () => {
        while (next++ < OTHER_ROUNDS) {
          const sent = Date.now();
          const other = await place();
          const otherConfirm = await send(`/v1/orders/${other.orderId}/confirm`);
          sentAt.set(otherConfirm.commandId, sent);
        }
      }),
    );
    const settledAt = () => settledIn([...sentAt.keys()]);
    // The refusal stays until they are all done: they must not wait for the refused key.
    await waitFor(async () => (await settledAt()).length === OTHER_ROUNDS, 60_000, 'the other orders to be confirmed', 100);
    const others = await settledAt();
    expect(others.map((row) => row.status)).toEqual(Array(OTHER_ROUNDS).fill('succeeded'));
    const latencies = others.map((row) => row.at.getTime() - sentAt.get(row.command_id)!);
    const othersDoneAt = Date.now();
    // Neither Confirm nor Ship has an outcome yet (either may be running its attempt or its check).
    expect((await settledIn([confirm.commandId, ship.commandId])).length).toBe(0);

    await sleep(Math.max(0, REFUSAL_MS - (Date.now() - refusedAt)));
    await system.db.query('delete from confirm_refusals');
    const liftedAt = Date.now();
    const [confirmed, shipped] = [await api.settled(confirm.commandId, 90_000), await api.settled(ship.commandId, 90_000)];
    const shipDoneAfterLiftMs = Date.now() - liftedAt;
    console.log(
      `[ordering-under-failure] ${OTHER_ROUNDS} rounds of other orders settled in ${othersDoneAt - refusedAt} ms while one ` +
        `order's Confirm was refused (Place → Confirm p50 ${percentile(latencies, 50)} ms, p99 ${percentile(latencies, 99)} ms); ` +
        `Confirm attempts ${confirmed.attempts}; Ship settled ${shipDoneAfterLiftMs} ms after the refusal was lifted`,
    );
    expect(confirmed).toMatchObject({ status: 'succeeded', result: { orderId, status: 'confirmed' } });
    expect(confirmed.attempts).toBeGreaterThan(1);
    expect(shipped).toMatchObject({ status: 'succeeded', result: { orderId, status: 'shipped' } });
    expect(shipped.waitingFor).toBeUndefined();
  }, 120_000);

  it('a command that failed for good lets the next one run and get its own outcome', async () => {
    const { place } = await shop();
    const placed = await place();
    const orderId = placed.orderId!;
    const cancel = await send(`/v1/orders/${orderId}/cancel`, { reason: 'changed my mind' });
    const confirm = await send(`/v1/orders/${orderId}/confirm`);
    const ship = await send(`/v1/orders/${orderId}/ship`);
    const outcomes = await Promise.all([placed, cancel, confirm, ship].map((command) => api.settled(command.commandId)));
    expect(outcomes.map((outcome) => [outcome.type, outcome.status, outcome.error?.code])).toEqual([
      ['PlaceOrder', 'succeeded', undefined],
      ['CancelOrder', 'succeeded', undefined],
      ['ConfirmOrder', 'failed', 'invalid_transition'],
      ['ShipOrder', 'failed', 'invalid_transition'],
    ]);
  });
});
