import type { Queue } from 'bullmq';
import type { Scheduler } from '../../application/scheduling/ports.js';
import type { Schedule } from '../../application/scheduling/schedule.js';
import { SCHEDULE_TICK_JOB, scheduleTickJobOptions, type ScheduleTickData } from '../../../queues/schedules.js';
import { queueReady } from '../queue/bullmq-command-sender.js';

/**
 * Schedules as BullMQ job schedulers on the `commands` queue, one per schedule, with the
 * schedule id as the scheduler id. BullMQ keeps one delayed tick job per scheduler; the worker
 * that takes a tick adds the next one in the same Redis script, and only the producer of the
 * current tick may, so two workers or two web processes never make the same tick twice.
 * Every call first waits (briefly) for the queue's Redis connection, so that a request made
 * while Redis is down fails (503) instead of hanging and taking effect later.
 */
export class BullMqScheduler implements Scheduler {
  constructor(private readonly commands: Queue) {}

  async put(schedule: Schedule): Promise<void> {
    const { recurrence } = schedule;
    const repeat = 'every' in recurrence ? { every: recurrence.every * 1000 } : { pattern: recurrence.cron, tz: recurrence.timezone };
    const data: ScheduleTickData = { scheduleId: schedule.id, command: schedule.command };
    await queueReady(this.commands);
    await this.commands.upsertJobScheduler(schedule.id, repeat, { name: SCHEDULE_TICK_JOB, data, opts: scheduleTickJobOptions });
  }

  async remove(scheduleId: string): Promise<void> {
    await queueReady(this.commands);
    await this.commands.removeJobScheduler(scheduleId);
  }

  async nextRuns(): Promise<Map<string, Date>> {
    await queueReady(this.commands);
    const schedulers = await this.commands.getJobSchedulers();
    return new Map(schedulers.flatMap((scheduler) => (scheduler.next ? [[scheduler.key, new Date(scheduler.next)] as const] : [])));
  }

  async nextRun(scheduleId: string): Promise<Date | null> {
    await queueReady(this.commands);
    const scheduler = await this.commands.getJobScheduler(scheduleId);
    return scheduler?.next ? new Date(scheduler.next) : null;
  }
}
