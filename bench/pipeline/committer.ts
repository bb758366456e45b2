// Commits PlaceOrder transactions — the statements the unit of work issues (captured by
// processing/capture.ts), NOTIFY included — so the events path can be measured on its own,
// at a rate the worker need not reach. Two modes:
//   node committer.js paced <perSecond> <seconds>   open loop: transaction i starts at t0 + i/rate
//   node committer.js burst <count> <inFlight>      as fast as possible (a backlog for the relay)
// DATABASE_URL, BENCH_CAPTURE and BENCH_CATALOG from the env. Prints RESULT with the commit
// time of every order (epoch ms), so lag is measured from the real COMMIT.
import pg from 'pg';
import { epochMs as now, paced } from '../lib/load.js';
import { printResult } from '../lib/processes.js';
import { placeOrder, replayFromEnv } from '../processing/replay.js';

const [mode = 'paced', first = '500', second = '10'] = process.argv.slice(2);
const replay = replayFromEnv();
const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 32 });

/** orderId → [scheduled, committed] epoch ms. */
const commits: [string, number, number][] = [];
let failed = 0;

async function commitOne(scheduled: number): Promise<void> {
  const ids = replay.ids();
  const client = await pool.connect();
  try {
    await placeOrder(client, replay.statementsFor(ids));
    commits.push([ids.orderId, scheduled, now()]);
  } catch {
    failed += 1;
  } finally {
    client.release();
  }
}

const started = now();
if (mode === 'paced') {
  const rate = Number(first);
  await paced(started, rate, Math.round(rate * Number(second)), commitOne);
} else {
  let left = Number(first);
  await Promise.all(
    Array.from({ length: Number(second) }, async () => {
      while (left-- > 0) await commitOne(now());
    }),
  );
}
const elapsed = (now() - started) / 1000;
printResult({ commits, failed, seconds: elapsed, committedPerSecond: commits.length / elapsed });
await pool.end();
