// Baseline of the events throughput: the last hop alone — sign (Standard Webhooks) and POST
// `count` webhook bodies with undici to the same receiver, `inFlight` at a time, no database and
// no queue. `node bare-deliver.js <url> <count> <inFlight>`; WEBHOOK_SECRET in the env.
import { uuidv7 } from '../../src/infrastructure/ids.js';
import { Agent, request } from 'undici';
import { webhookHeaders } from '../../src/infrastructure/webhooks/signing.js';
import { printResult } from '../lib/processes.js';
import { latencies } from '../lib/stats.js';

const [url = '', count = '2000', inFlight = '16'] = process.argv.slice(2);
const secret = process.env.WEBHOOK_SECRET ?? '';
// The sender's agent settings (undici-webhook-sender.ts), without the SSRF lookup.
const agent = new Agent({ keepAliveTimeout: 4_000, keepAliveMaxTimeout: 30_000, headersTimeout: 10_000, bodyTimeout: 10_000 });
const body = (orderId: string) =>
  JSON.stringify({
    type: 'order.placed',
    timestamp: new Date().toISOString(),
    data: {
      orderId,
      userId: uuidv7(),
      status: 'pending',
      items: [1, 2].map((n) => ({ productId: uuidv7(), sku: `BENCH-${n}`, name: `Bench product ${n}`, quantity: 1, unitPrice: { amount: '12.50', currency: 'EUR' } })),
      total: { amount: '25.00', currency: 'EUR' },
      eventId: uuidv7(),
    },
  });

const finished: number[] = [];
const roundTrips: number[] = [];
let left = Number(count);
const cpuBefore = process.cpuUsage();
await Promise.all(
  Array.from({ length: Number(inFlight) }, async () => {
    while (left-- > 0) {
      const id = uuidv7();
      const text = body(uuidv7());
      const started = performance.now();
      const response = await request(url, {
        method: 'POST',
        dispatcher: agent,
        headers: { 'content-type': 'application/json', ...webhookHeaders([secret], { id, timestamp: new Date(), body: text }) },
        body: text,
      });
      await response.body.dump();
      const end = performance.now();
      roundTrips.push(end - started);
      finished.push(end);
    }
  }),
);
const cpu = process.cpuUsage(cpuBefore);
printResult({ finished, roundTripMs: latencies(roundTrips), cpuMsPerDelivery: (cpu.user + cpu.system) / 1000 / Number(count) });
await agent.close();
