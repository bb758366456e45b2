import type { Queue } from 'bullmq';
import pg from 'pg';
import { latencies, type LatencySummary } from '../lib/stats.js';
import type { Accepted } from './http-pacer.js';
import type { Delivery } from './receiver.js';

/**
 * Where an order's time goes from POST to webhook received, in the order it passes, each
 * stage from one timestamp to the next so the stages add up to the whole:
 * - intake: request due → job added (BullMQ `timestamp`, set by the web process);
 * - queue: job added → worker starts it (`processedOn`);
 * - lock: job started → products locked (`orders.placed_at`: the use case reads the clock once
 *   the `for update` returned; BEGIN and the dedupe and user reads are in this stage too);
 * - transaction: locked → outcome written (`processed_commands.processed_at`; the last statement
 *   and COMMIT come after it, so they count in the relay stage);
 * - relay: outcome written → the relay's claim (`webhook_deliveries.created_at`, its claim
 *   transaction's now());
 * - enqueue: claim → the delivery's job added (its BullMQ `timestamp`, set by the relay): the
 *   rest of the claim transaction, its COMMIT and the add;
 * - pickup: job added → a webhooks worker starts it (`processedOn`);
 * - prepare: started → delivery attempt starts (`webhook_delivery_attempts.attempted_at`): the
 *   rate check, the delivery and endpoint read, the secret's decryption, the signature;
 * - delivery: attempt → the receiver has the request.
 * With RELAY_FIRST_ATTEMPT (ADR 0024) a delivery whose first attempt the relay made has no job
 * (or only a retry's, added after that attempt), so no enqueue and no pickup: its prepare runs
 * from the claim to the attempt (the rest of the claim transaction, its COMMIT and the attempt's
 * reads). The report says how many deliveries had a job. Without the setting a delivery whose
 * job is gone (trimmed from Redis) is left out of the delivery stages, as before.
 * `email` (claim → `email_messages.sent_at`) is off the webhook's path and shown beside them.
 */
export const STAGES = ['intake', 'queue', 'lock', 'transaction', 'relay', 'enqueue', 'pickup', 'prepare', 'delivery', 'email'] as const;
export type StageName = (typeof STAGES)[number];

/**
 * Whether the system's relay makes each email's and webhook's first attempt itself
 * (RELAY_FIRST_ATTEMPT, ADR 0024): an order's deliveries then make no queue hop of their own.
 */
export function relayMakesFirstAttempts(env: Record<string, string> | undefined): boolean {
  return ['true', '1'].includes(env?.RELAY_FIRST_ATTEMPT ?? '');
}

interface Row {
  order_id: string;
  command_id: string;
  placed: number;
  processed: number;
  claimed: number | null;
  delivery_id: string | null;
  attempted: number | null;
  mailed: number | null;
}

/** p50/p99 of each stage over the orders sent from `from` (epoch ms) on. */
export async function stageBreakdown(
  databaseUrl: string,
  queues: { commands: Queue; webhooks: Queue },
  accepted: readonly Accepted[],
  received: readonly Delivery[],
  from: number,
  /** The relay made first attempts (RELAY_FIRST_ATTEMPT). */
  firstAttempt = false,
): Promise<Record<StageName, LatencySummary>> {
  const measured = accepted.filter(([, due]) => due >= from);
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  let rows: Row[];
  try {
    const ms = (column: string) => `extract(epoch from ${column}) * 1000`;
    rows = (
      await client.query<Row>(
        `select t.order_id, t.command_id, ${ms('o.placed_at')} as placed, ${ms('pc.processed_at')} as processed,
                ${ms('wd.created_at')} as claimed, wd.id as delivery_id,
                (select ${ms('min(a.attempted_at)')} from webhook_delivery_attempts a where a.delivery_id = wd.id) as attempted,
                ${ms('em.sent_at')} as mailed
           from unnest($1::uuid[], $2::uuid[]) as t(order_id, command_id)
           join orders o on o.id = t.order_id
           join processed_commands pc on pc.command_id = t.command_id
           left join outbox_messages om on om.aggregate_id = t.order_id and om.type = 'order.placed'
           left join webhook_deliveries wd on wd.event_id = om.id
           left join email_messages em on em.event_id = om.id`,
        [measured.map(([orderId]) => orderId), measured.map(([, , , commandId]) => commandId)],
      )
    ).rows;
  } finally {
    await client.end();
  }
  const byOrder = new Map(rows.map((row) => [row.order_id, row]));
  const receivedAt = new Map(received.map((delivery) => [delivery.orderId, delivery.receivedAt]));
  const values = Object.fromEntries(STAGES.map((name) => [name, [] as number[]])) as Record<StageName, number[]>;
  for (let i = 0; i < measured.length; i += 500) {
    const slice = measured.slice(i, i + 500);
    const jobs = await Promise.all(slice.map(([, , , commandId]) => queues.commands.getJob(commandId)));
    const deliveryJobs = await Promise.all(
      slice.map(([orderId]) => {
        const deliveryId = byOrder.get(orderId)?.delivery_id;
        return deliveryId ? queues.webhooks.getJob(deliveryId) : Promise.resolve(undefined);
      }),
    );
    slice.forEach(([orderId, due], index) => {
      const job = jobs[index];
      const row = byOrder.get(orderId);
      if (!job?.processedOn || !row) return;
      const [placed, processed] = [Number(row.placed), Number(row.processed)];
      values.intake.push(job.timestamp - due);
      values.queue.push(job.processedOn - job.timestamp);
      values.lock.push(placed - job.processedOn);
      values.transaction.push(processed - placed);
      if (row.claimed === null) return;
      const claimed = Number(row.claimed);
      values.relay.push(claimed - processed);
      if (row.mailed !== null) values.email.push(Number(row.mailed) - claimed);
      if (row.attempted === null) return;
      const deliveryJob = deliveryJobs[index];
      const attempted = Number(row.attempted);
      if (firstAttempt && (!deliveryJob || deliveryJob.timestamp > attempted)) values.prepare.push(attempted - claimed);
      else {
        if (!deliveryJob?.processedOn) return;
        values.enqueue.push(deliveryJob.timestamp - claimed);
        values.pickup.push(deliveryJob.processedOn - deliveryJob.timestamp);
        values.prepare.push(attempted - deliveryJob.processedOn);
      }
      const got = receivedAt.get(orderId);
      if (got !== undefined) values.delivery.push(got - Number(row.attempted));
    });
  }
  return Object.fromEntries(STAGES.map((name) => [name, latencies(values[name])])) as Record<StageName, LatencySummary>;
}
