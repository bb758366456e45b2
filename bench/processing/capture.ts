// Captures the SQL one PlaceOrder command issues through the unit of work: the real use case,
// unit of work and MikroORM mapping (from dist/), run in this process on the bench database,
// with pg's Client.query wrapped to record every statement and its parameters between BEGIN
// and COMMIT. `node capture.js`; DATABASE_URL and BENCH_CATALOG (JSON) from the environment.
// Prints RESULT {statements, input} for the bare replay (pg-replay.ts).
import { createRequire } from 'node:module';
import { uuidv7 } from '../../src/infrastructure/ids.js';
import { systemClock } from '../../src/application/clock.js';
import { PlaceOrder } from '../../src/application/commerce/use-cases/place-order.js';
import { MikroORM, ormConfig } from '../../src/infrastructure/persistence/mikro-orm.js';
import { MikroOrmUnitOfWork } from '../../src/infrastructure/persistence/mikro-orm-unit-of-work.js';
import { printResult } from '../lib/processes.js';
import { placeOrderPayload, type Catalog } from '../lib/seed.js';

export interface CapturedStatement {
  text: string;
  values: unknown[];
}

interface QueryConfigLike {
  text?: string;
  values?: unknown[];
}

let recording: CapturedStatement[] | undefined;

// MikroORM's driver may load its own copy of pg (a nested node_modules): wrap every copy reachable.
const require = createRequire(import.meta.url);
const copies = new Set<{ Client: { prototype: { query: (...args: unknown[]) => unknown } } }>();
copies.add(require('pg') as never);
try {
  const fromMikroOrm = createRequire(require.resolve('@mikro-orm/postgresql'));
  copies.add(fromMikroOrm('pg') as never);
} catch {
  // Only the top-level copy.
}
for (const pg of copies) {
  const original = pg.Client.prototype.query;
  pg.Client.prototype.query = function query(this: unknown, ...args: unknown[]): unknown {
    const [first, second] = args;
    if (recording) {
      const config = (typeof first === 'string' ? { text: first } : first) as QueryConfigLike;
      const values = Array.isArray(second) ? second : (config.values ?? []);
      if (typeof config.text === 'string') recording.push({ text: config.text, values: structuredClone(values) });
    }
    return original.apply(this, args);
  };
}

const catalog = JSON.parse(process.env.BENCH_CATALOG ?? '{}') as Catalog;
// Statements one by one, as the baselines send them: the unit of work's pipelining (ADR 0016)
// is off here (and the pg client a plain one), so each statement is recorded on its own, not
// joined with the writes held in front of it or the reads asked with it. The stock update of
// the order's lines is MikroORM's one batched UPDATE, as before conveyor turned batching off
// for its pipelining (ormConfig): the baselines keep the SQL a hand-written job would send.
const orm = await MikroORM.init({
  ...ormConfig({ databaseUrl: process.env.DATABASE_URL ?? '', poolSize: 2 }),
  driverOptions: {},
  useBatchUpdates: true,
});
const placeOrder = new PlaceOrder(new MikroOrmUnitOfWork(orm, undefined, { pipelined: false }), systemClock);
let statements: CapturedStatement[] = [];
let input = placeOrderPayload(catalog);
// The first commands warm up the ORM (metadata, prepared mappers); the last one is kept.
for (let i = 0; i < 5; i += 1) {
  input = placeOrderPayload(catalog);
  recording = [];
  await placeOrder.execute(input);
  statements = recording;
  recording = undefined;
}
await orm.close(true);
printResult({ statements, input, sample: uuidv7() });
