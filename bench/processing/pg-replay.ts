// Bare baseline of the processing figure: the statements one PlaceOrder issues (captured by
// capture.ts from the real unit of work) replayed in transactions over a plain pg pool, for
// fresh ids each time, with `concurrency` transactions in flight — what the worker does minus
// BullMQ, MikroORM, the domain and logging. `node pg-replay.js <seconds> <concurrency>`;
// DATABASE_URL, BENCH_CAPTURE and BENCH_CATALOG (JSON) from the environment.
import pg from 'pg';
import { closedLoop } from '../lib/load.js';
import { printResult } from '../lib/processes.js';
import { placeOrder, replayFromEnv } from './replay.js';

const [seconds = '5', concurrency = '16'] = process.argv.slice(2);
const replay = replayFromEnv();
// The worker's pool: MikroORM's, sized max(concurrency + 2, 10) by openOrm (src/main/infrastructure.ts).
const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: Math.max(Number(concurrency) + 2, 10) });

const { count: committed, cpuMs } = await closedLoop(Number(concurrency), Number(seconds), async () => {
  const client = await pool.connect();
  try {
    await placeOrder(client, replay.statementsFor(replay.ids()));
  } finally {
    client.release();
  }
});
printResult({
  committed,
  perSecond: committed / Number(seconds),
  cpuMsPerCommand: cpuMs / committed,
  statements: replay.statementCount,
});
await pool.end();
