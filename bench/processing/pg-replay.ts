// Bare baseline of the processing figure: the statements one PlaceOrder issues (captured by
// capture.ts from the real unit of work) replayed in transactions over a plain pg pool, for
// fresh ids each time, with `concurrency` transactions in flight — what the worker does minus
// BullMQ, MikroORM, the domain and logging. `node pg-replay.js <seconds> <concurrency>`;
// DATABASE_URL, BENCH_CAPTURE and BENCH_CATALOG (JSON) from the environment.
import pg from 'pg';
import { v7 as uuidv7 } from 'uuid';
import { printResult } from '../lib/processes.js';
import { ORDER_LINES, type Catalog } from '../lib/seed.js';
import type { CapturedStatement } from './capture.js';
import { sqlTemplate, type CapturedInput } from './sql-template.js';

const [seconds = '5', concurrency = '16'] = process.argv.slice(2);
const capture = JSON.parse(process.env.BENCH_CAPTURE ?? '{}') as { statements: CapturedStatement[]; input: CapturedInput };
const catalog = JSON.parse(process.env.BENCH_CATALOG ?? '{}') as Catalog;
const statementsFor = sqlTemplate(capture.statements, capture.input);
// The worker's pool: MikroORM's, sized max(concurrency + 2, 10) by openOrm (src/main/infrastructure.ts).
const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: Math.max(Number(concurrency) + 2, 10) });

const pick = <T>(list: readonly T[]): T => list[Math.floor(Math.random() * list.length)] as T;
function ids() {
  const products = new Set<string>();
  while (products.size < ORDER_LINES) products.add(pick(catalog.productIds));
  return { commandId: uuidv7(), orderId: uuidv7(), userId: pick(catalog.userIds), productIds: [...products] };
}

const warmUpEnd = performance.now() + 1000;
const end = warmUpEnd + Number(seconds) * 1000;
let committed = 0;
let cpuAtWarmUpEnd: NodeJS.CpuUsage | undefined;
async function slot(): Promise<void> {
  for (;;) {
    const client = await pool.connect();
    try {
      for (const text of statementsFor(ids())) await client.query(text);
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
    const now = performance.now();
    if (now > end) return;
    if (now > warmUpEnd) {
      cpuAtWarmUpEnd ??= process.cpuUsage();
      committed += 1;
    }
  }
}
await Promise.all(Array.from({ length: Number(concurrency) }, slot));
const cpu = process.cpuUsage(cpuAtWarmUpEnd);
printResult({
  committed,
  perSecond: committed / Number(seconds),
  cpuMsPerCommand: (cpu.user + cpu.system) / 1000 / committed,
  statements: capture.statements.length,
});
await pool.end();
