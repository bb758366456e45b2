// The report's stage breakdown of an order's time: a delivery whose first attempt the relay made
// (RELAY_FIRST_ATTEMPT, ADR 0024) has no job, so no enqueue and no pickup stage.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { renderTable, type Results } from '../../../bench/lib/report.js';

type Example = { machine: Parameters<typeof renderTable>[0]; settings: Parameters<typeof renderTable>[1]; results: Results };
const example = () => JSON.parse(readFileSync(new URL('../../../bench/results/example.json', import.meta.url), 'utf8')) as Example;
const stageRow = (markdown: string, rate: number) => markdown.split('\n').find((line) => line.includes(`where the time goes at ${rate}/s`)) ?? '';
const none = { count: 0, p50: Number.NaN, p95: Number.NaN, p99: Number.NaN, max: Number.NaN };
const stage = (count: number, p50: number, p99: number) => ({ count, p50, p95: p99, p99, max: p99 });

/** The example run with known figures for the stages asserted, so the test holds whichever run (at the default 50 and 200/s) the file is. */
function exampleWithStages(): Example {
  const run = example();
  const e2e = run.results.pipeline!.e2e!;
  e2e.stagesMsLow = { ...e2e.stagesMsLow, relay: stage(400, 2, 4), enqueue: stage(400, 1, 3), pickup: stage(400, 1, 1), prepare: stage(400, 2, 5) };
  e2e.stagesMs = { ...e2e.stagesMs, enqueue: stage(1600, 3, 11), pickup: stage(1600, 2, 25), prepare: stage(1600, 5, 28) };
  return run;
}

describe('where the time goes', () => {
  it('prints every stage with its p50 and p99 when every delivery had a job', () => {
    const { machine, settings, results } = exampleWithStages();
    expect(stageRow(renderTable(machine, settings, results).markdown, 50)).toContain('enqueue 1.0/3.0 · pickup 1.0/1.0 · prepare 2.0/5.0');
  });

  it('says "—" for a queue stage no delivery went through, and how many did when some did', () => {
    const { machine, settings, results } = exampleWithStages();
    const e2e = results.pipeline!.e2e!;
    e2e.stagesMsLow = { ...e2e.stagesMsLow, enqueue: none, pickup: none };
    e2e.stagesMs = { ...e2e.stagesMs, enqueue: { ...e2e.stagesMs.enqueue, count: 1200 }, pickup: { ...e2e.stagesMs.pickup, count: 1200 } };
    const { markdown } = renderTable(machine, settings, results);
    expect(stageRow(markdown, 50)).toContain('relay 2.0/4.0 · enqueue — · pickup — · prepare 2.0/5.0');
    expect(stageRow(markdown, 200)).toContain('enqueue 3.0/11.0 (1200 of 1600) · pickup 2.0/25.0 (1200 of 1600) · prepare 5.0/28.0');
  });
});

describe('the floor of the hops an order makes', () => {
  const floorRow = (markdown: string) => markdown.split('\n').find((line) => line.includes('floor at 200/s')) ?? '';
  const withFloor = (env?: Record<string, string>) => {
    const { machine, settings, results } = exampleWithStages();
    results.pipeline!.e2e!.hopFloorCpuMs = { ...results.pipeline!.e2e!.hopFloorCpuMs!, http: { 200: 0.5, 50: 1 }, queue: { 200: 0.75, 50: 1.5 } };
    return renderTable(machine, { ...settings, ...(env ? { env } : {}) }, results).markdown;
  };

  it('counts one HTTP and three queue hops when every delivery goes through its queue', () => {
    expect(floorRow(withFloor())).toContain('1 HTTP + 3 queue = 2.75 ms');
  });

  it('counts one queue hop when the relay makes the first attempts (RELAY_FIRST_ATTEMPT)', () => {
    expect(floorRow(withFloor({ RELAY_FIRST_ATTEMPT: 'true' }))).toContain('1 HTTP + 1 queue = 1.25 ms');
    expect(floorRow(withFloor({ RELAY_FIRST_ATTEMPT: 'false' }))).toContain('1 HTTP + 3 queue = 2.75 ms');
  });
});
