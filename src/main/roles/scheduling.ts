import { uuidv7 } from '../../infrastructure/ids.js';
import { systemClock, type Clock } from '../../application/clock.js';
import { CreateSchedule } from '../../application/scheduling/create-schedule.js';
import { DeleteSchedule } from '../../application/scheduling/delete-schedule.js';
import { GetSchedule } from '../../application/scheduling/get-schedule.js';
import { ListScheduleRuns } from '../../application/scheduling/list-schedule-runs.js';
import { ListSchedules } from '../../application/scheduling/list-schedules.js';
import type { ScheduleManagement } from '../../application/scheduling/management.js';
import { RestoreSchedules } from '../../application/scheduling/restore-schedules.js';
import { StartScheduledRun } from '../../application/scheduling/start-scheduled-run.js';
import { BullMqCommandSender } from '../../infrastructure/queue/bullmq-command-sender.js';
import { BullMqScheduler } from '../../infrastructure/scheduling/bullmq-scheduler.js';
import { MikroOrmScheduleRunLog } from '../../infrastructure/scheduling/mikro-orm-schedule-run-log.js';
import { PostgresScheduleRepository } from '../../infrastructure/scheduling/postgres-schedule-repository.js';
import { scheduledCommandProblem } from '../../../queues/schedules.js';
import { createScheduleTickProcessor, type RunCommand } from '../../../workers/schedule-processor.js';
import type { Infrastructure } from '../infrastructure.js';

// The scheduling capability as each role uses it
// (docs/adr/0007-recurring-schedules-and-order-expiry.md): web manages schedules, the command
// worker turns their ticks into runs, the relay restores job schedulers Redis lost.

type CommandsQueue = { queues: Pick<Infrastructure['queues'], 'commands'> };

/** The schedule use cases behind /v1/schedules (web). */
export function createScheduleManagement(
  infra: Pick<Infrastructure, 'pool'> & CommandsQueue,
  options: { clock?: Clock; newId?: () => string } = {},
): ScheduleManagement {
  const schedules = new PostgresScheduleRepository(infra.pool);
  const scheduler = new BullMqScheduler(infra.queues.commands);
  return {
    createSchedule: new CreateSchedule(
      schedules,
      scheduler,
      scheduledCommandProblem,
      options.newId ?? (() => uuidv7()),
      options.clock ?? systemClock,
    ),
    listSchedules: new ListSchedules(schedules, scheduler),
    getSchedule: new GetSchedule(schedules, scheduler),
    deleteSchedule: new DeleteSchedule(schedules, scheduler),
    listRuns: new ListScheduleRuns(schedules),
  };
}

/** The processor of tick jobs (command worker): each tick recorded under its schedule, its command queued. */
export function scheduleTickProcessor(infra: Pick<Infrastructure, 'orm' | 'logger'> & CommandsQueue) {
  const sender = new BullMqCommandSender(infra.queues.commands);
  const startRun = new StartScheduledRun<RunCommand>(
    new MikroOrmScheduleRunLog(infra.orm),
    new BullMqScheduler(infra.queues.commands),
    { send: ({ type, payload }) => sender.send(type, payload) },
  );
  return createScheduleTickProcessor(startRun, infra.logger);
}

/** Gives schedules whose job scheduler Redis lost a new one (relay, on the sweeper's interval). */
export function scheduleRestorer(infra: Pick<Infrastructure, 'pool'> & CommandsQueue): RestoreSchedules {
  return new RestoreSchedules(new PostgresScheduleRepository(infra.pool), new BullMqScheduler(infra.queues.commands));
}
