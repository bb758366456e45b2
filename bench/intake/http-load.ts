// One autocannon run against POST /v1/orders: `node http-load.js <url> <seconds> <connections>`,
// the JSON body in BENCH_BODY. Prints `RESULT {...}` with the accepted (202) rate.
import autocannon from 'autocannon';
import { API_KEY } from '../lib/system.js';
import { printResult } from '../lib/processes.js';

const [url = '', seconds = '5', connections = '64'] = process.argv.slice(2);
const result = await autocannon({
  url,
  method: 'POST',
  headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
  body: process.env.BENCH_BODY ?? '{}',
  connections: Number(connections),
  duration: Number(seconds),
  timeout: 10,
});
const accepted = result.statusCodeStats['202']?.count ?? 0;
printResult({
  accepted,
  acceptedPerSecond: accepted / result.duration,
  requests: result.requests.total,
  durationS: result.duration,
  statusCodes: Object.fromEntries(Object.entries(result.statusCodeStats).map(([code, stats]) => [code, stats.count])),
  errors: result.errors,
  timeouts: result.timeouts,
  latencyMs: { p50: result.latency.p50, p99: result.latency.p99, max: result.latency.max },
});
