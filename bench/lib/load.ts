import { sleep } from './processes.js';

/**
 * Now as epoch milliseconds from the wall clock, read each time: the clock of the timestamps it
 * is compared with in other processes (Date.now() in the system's processes, PostgreSQL's
 * `now()`). `performance.timeOrigin + performance.now()` keeps the wall clock of its process's
 * start, and a step of the machine's clock (seen: +0.5 s during a run) then puts every process
 * started before it off by the step (docs/benchmarks.md, "Noise").
 */
export const epochMs = () => Date.now();

/** How far the wall clock is from the monotonic one: a change between two reads is a step of the wall clock. */
export const wallClockOffsetMs = () => Date.now() - (performance.timeOrigin + performance.now());

/**
 * Open loop: starts `send(due)` `total` times, the i-th at `started + i/rate` (epoch ms) whether
 * or not earlier ones have finished, so a slow system cannot slow the clock down (no coordinated
 * omission). Resolves when every one has settled; `send` counts its own failures.
 */
export async function paced(started: number, perSecond: number, total: number, send: (due: number) => Promise<void>): Promise<void> {
  const inFlight = new Set<Promise<void>>();
  for (let i = 0; i < total; ) {
    const due = started + (i * 1000) / perSecond;
    if (epochMs() >= due) {
      const done: Promise<void> = send(due).finally(() => inFlight.delete(done));
      inFlight.add(done);
      i += 1;
    } else {
      await sleep(Math.max(0, Math.min(1, due - epochMs())));
    }
  }
  await Promise.all(inFlight);
}

/**
 * Closed loop: `slots` loops run `once()` back to back for a second of warm-up and then
 * `seconds`. Returns how many finished after the warm-up and the CPU time (ms) this process
 * used from the first of those on.
 */
export async function closedLoop(slots: number, seconds: number, once: () => Promise<void>): Promise<{ count: number; cpuMs: number }> {
  const warmUpEnd = performance.now() + 1000;
  const end = warmUpEnd + seconds * 1000;
  let count = 0;
  let cpuAtWarmUpEnd: NodeJS.CpuUsage | undefined;
  const slot = async (): Promise<void> => {
    for (;;) {
      await once();
      const now = performance.now();
      if (now > end) return;
      if (now > warmUpEnd) {
        cpuAtWarmUpEnd ??= process.cpuUsage();
        count += 1;
      }
    }
  };
  await Promise.all(Array.from({ length: slots }, slot));
  const cpu = process.cpuUsage(cpuAtWarmUpEnd);
  return { count, cpuMs: (cpu.user + cpu.system) / 1000 };
}
