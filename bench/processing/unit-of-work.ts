// The unit of work alone, in process: PlaceOrders (two lines each, as the processing load places
// them) through MikroOrmUnitOfWork with 16 in flight — no queue, no API — so a change to the
// ORM path shows in client CPU per command without BullMQ and the other processes around it.
// Not part of `npm run bench`; run it after `npx tsc -p bench/tsconfig.json`:
//
//   node [--cpu-prof] dist/bench/processing/unit-of-work.js [--orders 4000] [--rounds 4] [--in-flight 16]
//
// Two ORMs on one database alternate round by round (which goes first alternates too):
// `conveyor` (ormConfig as the worker runs it) and `mikro-orm-driver` (the same configuration on
// MikroORM's own PostgreSqlDriver, without ConveyorPostgreSqlDriver's update by primary key).
// Each round reports orders per second and the process's CPU (user + system) per order.
import { parseArgs } from 'node:util';
import { PostgreSqlDriver } from '@mikro-orm/postgresql';
import { uuidv7 } from '../../src/infrastructure/ids.js';
import { systemClock } from '../../src/application/clock.js';
import { PlaceOrder } from '../../src/application/commerce/use-cases/place-order.js';
import { MikroOrmUnitOfWork } from '../../src/infrastructure/persistence/mikro-orm-unit-of-work.js';
import { MikroORM, ormConfig } from '../../src/infrastructure/persistence/mikro-orm.js';
import { BenchDatabases } from '../lib/database.js';
import { orderBody, seedCatalog, type Catalog } from '../lib/seed.js';
import { summarize } from '../lib/stats.js';

const { values } = parseArgs({
  options: {
    orders: { type: 'string', default: '4000' },
    rounds: { type: 'string', default: '4' },
    'in-flight': { type: 'string', default: '16' },
  },
});
const orders = Number(values.orders);
const rounds = Number(values.rounds);
const inFlight = Number(values['in-flight']);

const log = (message: string) => process.stderr.write(`[uow-bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`);

interface Variant {
  name: string;
  orm: MikroORM;
  place: PlaceOrder;
  cpuMs: number[];
  perSecond: number[];
}

async function burn(place: PlaceOrder, catalog: Catalog, count: number): Promise<{ perSecond: number; cpuMs: number }> {
  let next = 0;
  const started = performance.now();
  const cpu = process.cpuUsage();
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next < count) {
        next += 1;
        await place.execute({ commandId: uuidv7(), orderId: uuidv7(), ...orderBody(catalog) });
      }
    }),
  );
  const used = process.cpuUsage(cpu);
  return { perSecond: (count / (performance.now() - started)) * 1000, cpuMs: (used.user + used.system) / 1000 / count };
}

async function main(): Promise<void> {
  const dbs = new BenchDatabases();
  const databaseUrl = await dbs.create('uow');
  const variants: Variant[] = [];
  try {
    const catalog = await seedCatalog(databaseUrl);
    const configs = {
      conveyor: ormConfig({ databaseUrl, poolSize: inFlight + 2 }),
      'mikro-orm-driver': { ...ormConfig({ databaseUrl, poolSize: inFlight + 2 }), driver: PostgreSqlDriver },
    };
    for (const [name, config] of Object.entries(configs)) {
      const orm = await MikroORM.init(config);
      const place = new PlaceOrder(new MikroOrmUnitOfWork(orm), systemClock);
      variants.push({ name, orm, place, cpuMs: [], perSecond: [] });
      await burn(place, catalog, Math.min(500, orders)); // warm-up: JIT, pool, statement shapes
    }
    for (let round = 1; round <= rounds; round += 1) {
      for (const variant of round % 2 === 1 ? variants : [...variants].reverse()) {
        const { perSecond, cpuMs } = await burn(variant.place, catalog, orders);
        variant.cpuMs.push(cpuMs);
        variant.perSecond.push(perSecond);
        log(`round ${round} ${variant.name.padEnd(16)} ${perSecond.toFixed(0)}/s, ${cpuMs.toFixed(3)} CPU ms per order`);
      }
    }
    const summary = Object.fromEntries(
      variants.map((v) => [v.name, { cpuMsMedian: summarize(v.cpuMs).median, perSecondMedian: summarize(v.perSecond).median, cpuMs: v.cpuMs, perSecond: v.perSecond }]),
    );
    process.stdout.write(`RESULT ${JSON.stringify({ orders, rounds, inFlight, summary })}\n`);
  } finally {
    await Promise.all(variants.map((v) => v.orm.close(true)));
    await dbs.dropAll();
  }
}

await main();
