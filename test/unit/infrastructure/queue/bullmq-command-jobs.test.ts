// The status of a queued command is read from BullMQ in two steps (the job's state, then the
// job). A worker that takes the job between them must not make it read as "queued" with the
// attempt it has just started already counted: what a client polling the status saw, and what
// made a test of the real queue fail about one run in two on a slow machine.
import type { Job, JobState, Queue } from 'bullmq';
import { describe, expect, it } from 'vitest';
import { BullMqCommandJobs } from '../../../../src/infrastructure/queue/bullmq-command-jobs.js';

const commandId = '01930000-0000-7000-8000-000000000001';

/** A queue whose job moves on as it is read: each read of the state takes the next of `states`. */
function movingQueue(states: (JobState | 'unknown')[], job: (reads: number) => Partial<Job>) {
  let stateReads = 0;
  const queue = {
    getJobState: async () => states[Math.min(stateReads++, states.length - 1)],
    getJob: async () => ({ name: 'ShipOrder', data: { commandId, orderId: commandId }, attemptsMade: 0, progress: 0, timestamp: 0, ...job(stateReads) }),
  };
  return { jobs: new BullMqCommandJobs(queue as unknown as Queue, {} as never), stateReads: () => stateReads };
}

describe('BullMqCommandJobs.find', () => {
  it('reads a job a worker takes between the reads as running, with the attempt it started', async () => {
    // waiting when first read; active (one attempt started) by the time the job is read.
    const { jobs } = movingQueue(['waiting', 'active', 'active'], () => ({ attemptsStarted: 1 }));
    expect(await jobs.find(commandId)).toMatchObject({ state: 'running', attempts: 1 });
  });

  it('reads a job that does not move once: state, job, state', async () => {
    const { jobs, stateReads } = movingQueue(['delayed', 'delayed'], () => ({ attemptsMade: 1, attemptsStarted: 1 }));
    expect(await jobs.find(commandId)).toMatchObject({ state: 'queued', attempts: 1, runAt: null });
    expect(stateReads()).toBe(2);
  });

  it('gives up after three jobs, with the last one under the state read just before it', async () => {
    const { jobs, stateReads } = movingQueue(['waiting', 'active', 'delayed', 'waiting', 'active'], (reads) => ({
      attemptsStarted: reads,
    }));
    expect(await jobs.find(commandId)).toMatchObject({ state: 'queued', attempts: 3 });
    expect(stateReads()).toBe(3);
  });

  it('is null when the job is removed between the reads', async () => {
    const { jobs } = movingQueue(['waiting', 'unknown'], () => ({}));
    expect(await jobs.find(commandId)).toBeNull();
  });
});
