// The floor of one queue hop (floor.ts): a BullMQ worker with the settings every role's worker
// has (queue-worker.ts: concurrency, lock duration, stalled check, its own blocking connection)
// and a processor that does nothing, fed by a paced producer on the queue the relay feeds
// (`emails`, with its default job options).
//   node bare-hop.js worker <concurrency>      — runs until SIGTERM
//   node bare-hop.js add <perSecond> <seconds> — adds jobs on time (open loop), prints RESULT
// REDIS_URL and QUEUE_PREFIX from the env.
import { Worker } from 'bullmq';
import { uuidv7 } from '../../src/infrastructure/ids.js';
import { QUEUES } from '../../queues/names.js';
import { createQueue } from '../../src/infrastructure/queue/queues.js';
import { createRedisConnection } from '../../src/infrastructure/redis/connection.js';
import { EMAIL_JOB_NAME } from '../../queues/emails.js';
import { paced } from '../lib/load.js';
import { printResult } from '../lib/processes.js';

const [mode = '', ...args] = process.argv.slice(2);
const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const prefix = process.env.QUEUE_PREFIX ?? 'bench';
/** The roles' default lock duration and stalled-check interval (WORKER_LOCK_MS). */
const LOCK_MS = 30_000;

if (mode === 'worker') {
  const connection = createRedisConnection({ url, role: 'worker', connectionName: 'conveyor:bench:bare-hop' });
  const worker = new Worker(QUEUES.emails, async () => undefined, {
    connection,
    prefix,
    concurrency: Number(args[0] ?? 16),
    lockDuration: LOCK_MS,
    stalledInterval: LOCK_MS,
    maxStalledCount: 5,
  });
  worker.on('error', (error) => console.error('bare-hop worker error', error));
  process.once('SIGTERM', () => {
    void worker.close().then(() => {
      connection.disconnect();
      process.exit(0);
    });
  });
} else if (mode === 'add') {
  const [perSecond = '200', seconds = '10'] = args;
  const connection = createRedisConnection({ url, role: 'producer', connectionName: 'conveyor:bench:bare-hop-add' });
  const queue = createQueue(QUEUES.emails, { connection, prefix });
  await queue.waitUntilReady();
  let added = 0;
  await paced(Date.now(), Number(perSecond), Math.round(Number(perSecond) * Number(seconds)), async () => {
    // As the relay adds an email's job: its row's id is the job's.
    const emailId = uuidv7();
    await queue.add(EMAIL_JOB_NAME, { emailId }, { jobId: emailId });
    added += 1;
  });
  printResult({ added });
  await queue.close();
  connection.disconnect();
} else {
  throw new Error(`usage: bare-hop.js worker <concurrency> | add <perSecond> <seconds>, not ${JSON.stringify(mode)}`);
}
