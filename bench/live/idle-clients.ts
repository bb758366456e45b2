// Idle live-status clients of one web process: `node idle-clients.js <baseUrl> <sse> <waits>`,
// the command ids to follow (scheduled far ahead, so nothing happens to them) in BENCH_COMMANDS
// (comma-separated). Opens <sse> event streams and keeps <waits> GET ?wait=30 requests open
// (each asks again when its wait ends), every one on a connection of its own. Sends
// "READY <open>" to the parent (IPC) once all are open, and ends them all on SIGTERM.
import http from 'node:http';
import { API_KEY } from '../lib/system.js';

const [baseUrl = '', sseCount = '1000', waitCount = '1000'] = process.argv.slice(2);
const commands = (process.env.BENCH_COMMANDS ?? '').split(',').filter(Boolean);
if (commands.length === 0) throw new Error('BENCH_COMMANDS is empty');
const base = new URL(baseUrl);
const requests = new Set<http.ClientRequest>();
let open = 0;
let failed = 0;
let stopping = false;

function get(path: string, onOpen: () => void, onEnd: () => void): void {
  const request = http.get(
    { host: base.hostname, port: base.port, path, agent: false, headers: { authorization: `Bearer ${API_KEY}` } },
    (response) => {
      if (response.statusCode !== 200) failed += 1;
      onOpen();
      response.resume();
      response.on('end', () => {
        requests.delete(request);
        onEnd();
      });
    },
  );
  requests.add(request);
  request.on('error', () => {
    requests.delete(request);
    if (!stopping) failed += 1;
  });
}

function stream(commandId: string): void {
  get(`/v1/commands/${commandId}/events`, () => (open += 1), () => {
    open -= 1;
    if (!stopping) stream(commandId);
  });
}

function wait(commandId: string, first: boolean): void {
  get(
    `/v1/commands/${commandId}?wait=30`,
    () => undefined,
    () => {
      if (!stopping) wait(commandId, false);
    },
  );
  // A wait answers only when it ends: it counts as open once sent.
  if (first) open += 1;
}

for (let i = 0; i < Number(sseCount); i += 1) stream(commands[i % commands.length]!);
for (let i = 0; i < Number(waitCount); i += 1) wait(commands[i % commands.length]!, true);

const target = Number(sseCount) + Number(waitCount);
const check = setInterval(() => {
  if (open >= target) {
    clearInterval(check);
    process.send?.(`READY ${open} failed ${failed}`);
  }
}, 100);

process.once('SIGTERM', () => {
  stopping = true;
  for (const request of requests) request.destroy();
  process.exit(0);
});
