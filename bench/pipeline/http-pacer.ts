// Open-loop client of the end-to-end figure: POST /v1/orders at `perSecond` for `seconds`
// (request i is sent at t0 + i/rate whether or not earlier ones have answered, so a slow
// system cannot slow the clock down: no coordinated omission). `node http-pacer.js <url>
// <perSecond> <seconds>`; BENCH_CATALOG in the env. Prints RESULT with, per accepted order,
// its id, the time it was due to be sent and the time its 202 arrived (epoch ms), and its command id.
import { Agent, request } from 'undici';
import { epochMs as now, paced } from '../lib/load.js';
import { printResult } from '../lib/processes.js';
import { orderBody, type Catalog } from '../lib/seed.js';
import { latencies } from '../lib/stats.js';
import { API_KEY } from '../lib/system.js';

const [url = '', perSecond = '200', seconds = '10'] = process.argv.slice(2);
const catalog = JSON.parse(process.env.BENCH_CATALOG ?? '{}') as Catalog;
const agent = new Agent({ connections: 64, keepAliveTimeout: 30_000 });
const rate = Number(perSecond);
const total = Math.round(rate * Number(seconds));

/** [orderId, due, 202 received, commandId]; times in epoch ms. */
export type Accepted = [string, number, number, string];

const accepted: Accepted[] = [];
const responseMs: number[] = [];
const statuses: Record<string, number> = {};
async function post(due: number): Promise<void> {
  try {
    const response = await request(url, {
      method: 'POST',
      dispatcher: agent,
      headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify(orderBody(catalog)),
    });
    const text = await response.body.text();
    const answered = now();
    responseMs.push(answered - due);
    statuses[response.statusCode] = (statuses[response.statusCode] ?? 0) + 1;
    if (response.statusCode === 202) {
      const body = JSON.parse(text) as { orderId: string; commandId: string };
      accepted.push([body.orderId, due, answered, body.commandId]);
    }
  } catch {
    statuses.error = (statuses.error ?? 0) + 1;
  }
}

const started = now();
await paced(started, rate, total, post);
printResult({ accepted, statuses, responseMs: latencies(responseMs), seconds: (now() - started) / 1000 });
await agent.close();
