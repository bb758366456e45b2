// Bare baseline of the intake figure: `queue.add` of PlaceOrder jobs with `inFlight` adds
// outstanding, on the queue and connection the web process uses (createQueue: same default job
// options; a producer connection), for `seconds` after a one-second warm-up.
// `node queue-add.js <seconds> <inFlight>`; REDIS_URL, QUEUE_PREFIX and BENCH_BODY from the env.
import { uuidv7 } from '../../src/infrastructure/ids.js';
import { createRedisConnection } from '../../src/infrastructure/redis/connection.js';
import { commandJob, type CommandPayload } from '../../queues/commands.js';
import { QUEUES } from '../../queues/names.js';
import { createQueue } from '../../src/infrastructure/queue/queues.js';
import { closedLoop } from '../lib/load.js';
import { printResult } from '../lib/processes.js';

const [seconds = '5', inFlight = '64'] = process.argv.slice(2);
const connection = createRedisConnection({
  url: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
  role: 'producer',
  connectionName: 'conveyor:bench:queue-add',
});
const queue = createQueue(QUEUES.commands, { connection, prefix: process.env.QUEUE_PREFIX ?? 'bench' });
await queue.waitUntilReady();
// The request body the intake phase posts (a valid PlaceOrder, built by the bench).
const body = JSON.parse(process.env.BENCH_BODY ?? '{}') as Omit<CommandPayload<'PlaceOrder'>, 'commandId' | 'orderId'>;

const { count: added, cpuMs } = await closedLoop(Number(inFlight), Number(seconds), async () => {
  const job = commandJob('PlaceOrder', { ...body, commandId: uuidv7(), orderId: uuidv7() });
  await queue.add(job.name, job.data, job.opts);
});
printResult({ added, addedPerSecond: added / Number(seconds), cpuMsPerCommand: cpuMs / added });
await queue.close();
connection.disconnect();
