import { UnrecoverableError, type Job } from 'bullmq';
import type { StartScheduledRun } from '../src/application/scheduling/start-scheduled-run.js';
import { derivedId } from '../src/infrastructure/queue/derived-ids.js';
import type { Logger } from '../src/infrastructure/logger.js';
import type { CommandPayload, CommandType } from '../queues/commands.js';
import { encodeFailure } from '../queues/failure.js';
import { runCommandOf, scheduledCommandProblem, scheduleTickPayload } from '../queues/schedules.js';

/** The command a run sends, as the `commands` queue takes it. */
export interface RunCommand {
  type: CommandType;
  payload: CommandPayload;
}

/**
 * The processor of the tick jobs BullMQ's job schedulers add to the `commands` queue
 * (SCHEDULE_TICK_JOB). A tick becomes its run: an ordinary command whose id, and the id of any
 * aggregate it creates, are derived from the tick's job id (`repeat:<schedule id>:<tick ms>`),
 * so a tick delivered twice starts the same command once. A tick whose data the contract
 * refuses fails for good; anything else is retried like a command.
 */
export function createScheduleTickProcessor(startRun: Pick<StartScheduledRun<RunCommand>, 'execute'>, logger: Logger) {
  return async function processScheduleTick(job: Job): Promise<unknown> {
    const tickId = job.id ?? '';
    const parsed = scheduleTickPayload.safeParse(job.data);
    if (!parsed.success || tickId === '') {
      throw new UnrecoverableError(encodeFailure({ code: 'invalid_payload', message: `tick ${tickId} carries no schedule` }));
    }
    const { scheduleId } = parsed.data;
    const problem = scheduledCommandProblem(parsed.data.command);
    if (problem !== null) {
      throw new UnrecoverableError(encodeFailure({ code: 'invalid_payload', message: `schedule ${scheduleId}: ${problem}` }));
    }
    const commandId = derivedId('schedule-run', tickId);
    const command = runCommandOf(parsed.data.command, commandId, (field) => derivedId('schedule-run', tickId, field));
    const outcome = await startRun.execute({ scheduleId, commandId, dueAt: dueAtOf(job), command });
    const log = logger.child({ jobId: tickId, scheduleId, commandId, type: command.type });
    if (outcome.started) log.info('scheduled run started');
    else log.info('tick of a deleted schedule: nothing started, its job scheduler removed');
    return outcome;
  };
}

/**
 * The tick a job is for: BullMQ names tick jobs `repeat:<scheduler id>:<tick in ms>`. A job
 * named otherwise (added by hand) is due when it was meant to run.
 */
function dueAtOf(job: Job): Date {
  const tick = Number((job.id ?? '').slice((job.id ?? '').lastIndexOf(':') + 1));
  return new Date(Number.isSafeInteger(tick) && tick > 0 ? tick : job.timestamp + (job.delay ?? 0));
}
