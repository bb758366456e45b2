// The mailer alone on a backlog: CPU per email of the real `mailer` process (its compiled entry,
// as the Procfile runs it) sending pending email_messages rows through a real SMTP server
// (smtp-sink.ts, another process). Not part of `npm run bench`; run it after
// `npx tsc -p bench/tsconfig.json`:
//
//   node dist/bench/mailer/backlog.js [--emails 2000] [--warmup 500] [--rounds 3]
//     [--variant name=path/to/mailer.js ...] [--cpu-prof DIR] [--concurrency 16] [--log-level warn]
//
// Each round starts each variant's mailer (alternating their order round by round), warms it
// up, then times one backlog: the rows are written first, then their jobs are added in one
// addBulk and the process's CPU (user + system, all threads, /proc) is read from just before
// the add until the queue is empty and the sink has every message. A variant is a compiled
// mailer entry, e.g. one built from another commit, so two versions alternate on one machine.
import { mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { uuidv7 } from '../../src/infrastructure/ids.js';
import { EMAIL_JOB_NAME } from '../../queues/emails.js';
import { QUEUES } from '../../queues/names.js';
import { BenchDatabases } from '../lib/database.js';
import { RESULTS_DIR, systemEntry } from '../lib/paths.js';
import { startNode, waitFor, type NodeProcess } from '../lib/processes.js';
import { deletePrefix } from '../lib/redis.js';
import { seedCatalog, type Catalog } from '../lib/seed.js';
import { summarize } from '../lib/stats.js';
import { ROLES, systemEnv, withQueue, type Stage } from '../lib/system.js';
import { SmtpSink } from '../pipeline/smtp-sink-process.js';

const { values } = parseArgs({
  options: {
    emails: { type: 'string', default: '2000' },
    warmup: { type: 'string', default: '500' },
    rounds: { type: 'string', default: '3' },
    variant: { type: 'string', multiple: true },
    'cpu-prof': { type: 'string' },
    concurrency: { type: 'string', default: '16' },
    'log-level': { type: 'string', default: 'warn' },
  },
});
const emails = Number(values.emails);
const warmup = Number(values.warmup);
const rounds = Number(values.rounds);
const variants = (values.variant ?? [`current=${systemEntry(ROLES.mailer)}`]).map((spec) => {
  const at = spec.indexOf('=');
  if (at < 1) throw new Error(`--variant name=path, not ${spec}`);
  return { name: spec.slice(0, at), entry: path.resolve(spec.slice(at + 1)) };
});

const log = (message: string) => process.stderr.write(`[mailer-bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`);

const dbs = new BenchDatabases();
const logDir = path.join(RESULTS_DIR, 'logs', `mailer-${dbs.runId}`);
mkdirSync(logDir, { recursive: true });
const started: NodeProcess[] = [];

/** The relay's work, done directly: per email a pending row for an order.placed event of one user. */
async function seedEmails(client: pg.Client, catalog: Catalog, count: number): Promise<string[]> {
  const emailIds = Array.from({ length: count }, () => uuidv7());
  const eventIds = emailIds.map(() => uuidv7());
  const userIds = emailIds.map((_, i) => catalog.userIds[i % catalog.userIds.length]);
  const products = emailIds.map((_, i) => [catalog.productIds[(2 * i) % catalog.productIds.length], catalog.productIds[(2 * i + 1) % catalog.productIds.length]]);
  // The payload of Order.snapshot() for two lines, as the e2e load places them.
  await client.query(
    `insert into outbox_messages (id, type, aggregate_type, aggregate_id, payload, occurred_at, published_at)
     select e.id, 'order.placed', 'order', e.id,
            jsonb_build_object('orderId', e.id, 'userId', e.user_id, 'status', 'pending',
              'items', jsonb_build_array(
                jsonb_build_object('productId', e.p1, 'sku', 'BENCH-1', 'name', 'Bench product 1', 'quantity', 1,
                                   'unitPrice', jsonb_build_object('amount', '12.50', 'currency', 'EUR')),
                jsonb_build_object('productId', e.p2, 'sku', 'BENCH-2', 'name', 'Bench product 2', 'quantity', 2,
                                   'unitPrice', jsonb_build_object('amount', '12.50', 'currency', 'EUR'))),
              'total', jsonb_build_object('amount', '37.50', 'currency', 'EUR')),
            now(), now()
       from unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::uuid[]) as e(id, user_id, p1, p2)`,
    [eventIds, userIds, products.map((pair) => pair[0]), products.map((pair) => pair[1])],
  );
  await client.query(
    `insert into email_messages (id, event_id, template, to_address, message_id, status, attempts, created_at)
     select m.id, m.event_id, 'order_confirmation', u.email, '<' || m.id || '@conveyor.local>', 'pending', 0, now()
       from unnest($1::uuid[], $2::uuid[], $3::uuid[]) as m(id, event_id, user_id)
       join users u on u.id = m.user_id`,
    [emailIds, eventIds, userIds],
  );
  await client.query('analyze email_messages; analyze outbox_messages');
  return emailIds;
}

interface Measured {
  cpuMsPerEmail: number;
  perSecond: number;
  /** Write system calls of the mailer per email: SMTP, PostgreSQL and Redis together. */
  writesPerEmail: number;
}

async function main(): Promise<void> {
  const databaseUrl = await dbs.create('mailer');
  const catalog = await seedCatalog(databaseUrl, { users: 1000, products: 100 });
  const sink = await SmtpSink.start(logDir, (proc) => started.push(proc));
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  const results = new Map<string, number[]>(variants.map((variant) => [variant.name, []]));
  const rates = new Map<string, number[]>(variants.map((variant) => [variant.name, []]));
  const writes = new Map<string, number[]>(variants.map((variant) => [variant.name, []]));
  try {
    for (let round = 1; round <= rounds; round += 1) {
      const order = round % 2 === 1 ? variants : [...variants].reverse();
      for (const variant of order) {
        const stage: Stage = {
          databaseUrl,
          queuePrefix: `bench-mailer-${dbs.runId}-${variant.name}-${round}`,
          logDir,
          mailDir: path.join(os.tmpdir(), `conveyor-mailer-bench-${dbs.runId}`),
          smtpUrl: `smtp://127.0.0.1:${sink.port}`,
          logLevel: values['log-level'],
          workerConcurrency: Number(values.concurrency),
        };
        const measured = await measure(stage, variant, round, client, catalog, sink);
        results.get(variant.name)?.push(measured.cpuMsPerEmail);
        rates.get(variant.name)?.push(measured.perSecond);
        writes.get(variant.name)?.push(measured.writesPerEmail);
        log(
          `round ${round} ${variant.name}: ${measured.cpuMsPerEmail.toFixed(3)} CPU ms per email, ${measured.perSecond.toFixed(0)} emails/s, ` +
            `${measured.writesPerEmail.toFixed(1)} writes per email`,
        );
      }
    }
    const summary = Object.fromEntries(
      variants.map(({ name }) => [
        name,
        { cpuMsPerEmail: results.get(name), median: summarize(results.get(name) ?? []).median, perSecond: rates.get(name), writesPerEmail: writes.get(name) },
      ]),
    );
    process.stdout.write(`RESULT ${JSON.stringify({ emails, warmup, rounds, concurrency: Number(values.concurrency), summary })}\n`);
  } finally {
    await client.end();
  }
}

async function measure(
  stage: Stage,
  variant: { name: string; entry: string },
  round: number,
  client: pg.Client,
  catalog: Catalog,
  sink: SmtpSink,
): Promise<Measured> {
  const profDir = values['cpu-prof'];
  const nodeFlags = profDir ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve(profDir)}`, `--cpu-prof-name=${variant.name}-${round}.cpuprofile`] : [];
  const mailer = startNode(`mailer-${variant.name}-${round}`, variant.entry, { env: systemEnv(stage), logDir, nodeFlags });
  started.push(mailer);
  try {
    return await withQueue(stage, QUEUES.emails, async (queue) => {
      await waitFor(`${mailer.name} worker`, async () => (await queue.getWorkersCount()) > 0, { process: mailer });
      const backlog = async (count: number) => {
        const ids = await seedEmails(client, catalog, count);
        const sent = await sink.count();
        const cpu = mailer.cpu();
        const written = mailer.writes();
        const t0 = performance.now();
        for (let i = 0; i < ids.length; i += 1000) {
          await queue.addBulk(ids.slice(i, i + 1000).map((emailId) => ({ name: EMAIL_JOB_NAME, data: { emailId }, opts: { jobId: emailId } })));
        }
        await waitFor(
          `${count} emails sent`,
          async () => {
            const counts = await queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized');
            const unfinished = Object.values(counts).reduce((sum, n) => sum + n, 0);
            return (await sink.count()) - sent >= count && unfinished === 0;
          },
          { process: mailer, timeoutMs: 120_000 + count * 50, intervalMs: 50 },
        );
        const seconds = (performance.now() - t0) / 1000;
        const cpuMs = (mailer.cpu() - cpu) * 1000;
        const writesPerEmail = (mailer.writes() - written) / count;
        const {
          rows: [row],
        } = await client.query<{ pending: number }>(
          `select count(*) filter (where status <> 'sent')::int as pending from email_messages where id = any($1::uuid[])`,
          [ids],
        );
        if (row?.pending) throw new Error(`${row.pending} of ${count} emails not sent`);
        return { cpuMsPerEmail: cpuMs / count, perSecond: count / seconds, writesPerEmail };
      };
      if (warmup > 0) await backlog(warmup);
      // For a tracer to attach to (strace -c -f -p PID) for the measured backlog alone.
      log(`measuring ${variant.name} round ${round} (pid ${mailer.pid})`);
      return backlog(emails);
    });
  } finally {
    await mailer.stop();
    await deletePrefix(stage.queuePrefix);
  }
}

try {
  await main();
} finally {
  for (const proc of started.reverse()) await proc.stop(5000);
  await dbs.dropAll();
}
