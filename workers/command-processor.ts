import { DelayedError, UnrecoverableError, type Job } from 'bullmq';
import { CommandCancelledError, DomainError } from '../src/domain/index.js';
import type { Logger } from '../src/infrastructure/logger.js';
import { runCommandJob } from '../src/infrastructure/ordering/predecessor.js';
import {
  commandPayloads,
  isCommandType,
  orderingKey,
  splitJobData,
  type CommandPayload,
  type CommandType,
} from '../queues/commands.js';
import { encodeFailure } from '../queues/failure.js';

/** The use case behind each command type (its `execute`). */
export type CommandHandlers = {
  [T in CommandType]: { execute(input: CommandPayload<T>): Promise<unknown> };
};

/**
 * Per-aggregate ordering (docs/adr/0006-per-aggregate-ordering.md), as the processor uses it:
 * `run` runs the command once its predecessor `after` has an outcome, or parks the job and
 * throws BullMQ's DelayedError; `release` wakes the commands waiting for one that has its
 * final outcome.
 */
export interface CommandOrdering {
  run<T>(job: Job, token: string | undefined, after: string | undefined, execute: () => Promise<T>): Promise<T>;
  release(commandId: string): Promise<void>;
}

/** No ordering: every command runs when its job is taken (unit tests, tools). */
export const unordered: CommandOrdering = {
  run: (_job, _token, _after, execute) => execute(),
  release: () => Promise.resolve(),
};

/**
 * The processor of the `commands` queue. It parses the payload again (the queue is a trust
 * boundary too), runs the use case (exactly once per command id, by the unit of work), and
 * maps errors: a domain error fails the job for good (UnrecoverableError: no retry — the
 * failure is already recorded in processed_commands), anything else is thrown as is so BullMQ
 * retries it with backoff. `isTransient` (src/infrastructure/errors.ts, the judgement the API's
 * 503 uses too) tells a backing service that is down from any other error in the log; both are
 * retried, since a lock conflict or a bug fixed by a redeploy may succeed later as well.
 */
export function createCommandProcessor(
  handlers: CommandHandlers,
  logger: Logger,
  isTransient: (error: unknown) => boolean,
  ordering: CommandOrdering = unordered,
) {
  return async function processCommand(job: Job, token?: string): Promise<unknown> {
    const data = job.data as { commandId?: unknown; sentBy?: { name?: unknown } };
    const log = logger.child({ jobId: job.id, commandId: data.commandId, type: job.name, sentBy: data.sentBy?.name });
    // Whatever ends a command for good lets the commands queued behind it on its key go.
    const release = async () => {
      try {
        await ordering.release(job.id!);
      } catch (error) {
        log.warn({ err: error }, 'could not wake the commands waiting for this one; they look again by themselves');
      }
    };
    const refuse = async (code: string, message: string): Promise<never> => {
      await release();
      throw new UnrecoverableError(encodeFailure({ code, message }));
    };
    if (!isCommandType(job.name)) return refuse('unknown_command', `no command type "${job.name}"`);
    const { payload, fields } = splitJobData(job.data);
    const parsed = commandPayloads[job.name].safeParse(payload);
    if (!parsed.success || !fields.success) {
      const issues = [...(parsed.error?.issues ?? []), ...(fields.error?.issues ?? [])];
      return refuse('invalid_payload', issues.map((issue) => issue.path.join('.') || '(root)').join(', '));
    }
    // TypeScript cannot tie job.name to its member of the payload union; the parse above does.
    // (typescript-eslint's checker sees the cast as redundant; tsc needs it.)
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion
    const handler: { execute(input: CommandPayload): Promise<unknown> } = handlers[job.name] as never;
    const started = performance.now();
    const attempt = job.attemptsMade + 1;
    try {
      // The attempt and the aggregate go beside the outcome in processed_commands (triage).
      const aggregate = orderingKey(job.name, parsed.data);
      const result = await runCommandJob({ attempt, aggregate, sentBy: fields.data.sentBy }, () =>
        ordering.run(job, token, fields.data.after, () => handler.execute(parsed.data)),
      );
      log.info({ ms: Math.round(performance.now() - started), attempt }, 'command succeeded');
      await release();
      return result;
    } catch (error) {
      if (error instanceof DelayedError) {
        log.debug({ after: fields.data.after }, 'command waits for the command before it on its key');
        throw error;
      }
      if (error instanceof CommandCancelledError) {
        // Final like any recorded outcome: the job fails for good and the status stays
        // cancelled; the commands behind it on its key go on.
        log.info({ attempt }, 'command was cancelled: refused without running');
        return refuse(error.code, error.message);
      }
      if (error instanceof DomainError) {
        log.info({ code: error.code, attempt }, 'command failed permanently');
        return refuse(error.code, error.message);
      }
      const last = attempt >= (job.opts.attempts ?? 1);
      log.warn({ err: error, attempt, transient: isTransient(error) }, last ? 'command failed, giving up' : 'command failed, will retry');
      if (last) await release();
      throw error;
    }
  };
}
