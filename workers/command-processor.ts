import { UnrecoverableError, type Job } from 'bullmq';
import { CommandCancelledError, DomainError } from '../src/domain/index.js';
import type { Logger } from '../src/infrastructure/logger.js';
import { commandPayloads, isCommandType, type CommandPayload, type CommandType } from '../queues/commands.js';
import { encodeFailure } from '../queues/failure.js';

/** The use case behind each command type (its `execute`). */
export type CommandHandlers = {
  [T in CommandType]: { execute(input: CommandPayload<T>): Promise<unknown> };
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
export function createCommandProcessor(handlers: CommandHandlers, logger: Logger, isTransient: (error: unknown) => boolean) {
  return async function processCommand(job: Job): Promise<unknown> {
    const log = logger.child({ jobId: job.id, commandId: (job.data as { commandId?: unknown }).commandId, type: job.name });
    if (!isCommandType(job.name)) {
      throw new UnrecoverableError(encodeFailure({ code: 'unknown_command', message: `no command type "${job.name}"` }));
    }
    const parsed = commandPayloads[job.name].safeParse(job.data);
    if (!parsed.success) {
      const paths = parsed.error.issues.map((issue) => issue.path.join('.') || '(root)').join(', ');
      throw new UnrecoverableError(encodeFailure({ code: 'invalid_payload', message: paths }));
    }
    // TypeScript cannot tie job.name to its member of the payload union; the parse above does.
    // (typescript-eslint's checker sees the cast as redundant; tsc needs it.)
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion
    const handler: { execute(input: CommandPayload): Promise<unknown> } = handlers[job.name] as never;
    const started = performance.now();
    try {
      const result = await handler.execute(parsed.data);
      log.info({ ms: Math.round(performance.now() - started), attempt: job.attemptsMade + 1 }, 'command succeeded');
      return result;
    } catch (error) {
      if (error instanceof CommandCancelledError) {
        // Final like any recorded outcome: the job fails for good and the status stays cancelled.
        log.info({ attempt: job.attemptsMade + 1 }, 'command was cancelled: refused without running');
        throw new UnrecoverableError(encodeFailure({ code: error.code, message: error.message }));
      }
      if (error instanceof DomainError) {
        log.info({ code: error.code, attempt: job.attemptsMade + 1 }, 'command failed permanently');
        throw new UnrecoverableError(encodeFailure({ code: error.code, message: error.message }));
      }
      log.warn({ err: error, attempt: job.attemptsMade + 1, transient: isTransient(error) }, 'command failed, will retry');
      throw error;
    }
  };
}
