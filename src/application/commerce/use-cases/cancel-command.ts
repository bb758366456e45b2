import type { Clock } from '../../clock.js';
import { CommandNotCancellableError, CommandNotFoundError } from '../errors.js';
import type { CommandOutcomes, CommandQueue } from '../ports/command-control.js';
import type { CommandStatusDto, GetCommandStatus } from '../queries/get-command-status.js';

/**
 * Cancels a command that has not started.
 *
 * Rules:
 * - a queued or scheduled command is cancelled: `cancelled` is recorded as its outcome, so it
 *   never runs, even if a copy of its job is picked up later (the unit of work refuses it);
 * - cancelling a cancelled command again answers the same (`cancelled`);
 * - a running, succeeded or failed command cannot be cancelled: `command_not_cancellable`,
 *   naming its status; an unknown one: `command_not_found`;
 * - a command in its aggregate's line (per-aggregate ordering) leaves its place to the command it
 *   was waiting for: that one is recorded with the cancel, and the commands behind wait for it.
 *
 * A worker may take the job at the very moment of the cancel. The outcome is written with
 * "insert unless there is one" on the row the unit of work also writes, so exactly one of them
 * wins: if the cancel did, the worker's transaction fails on the row and is rolled back (the
 * command has no effect) and its job is refused; if the worker committed first, the cancel
 * reports the outcome that stands.
 */
export class CancelCommand {
  constructor(
    private readonly status: GetCommandStatus,
    private readonly outcomes: CommandOutcomes,
    private readonly queue: CommandQueue,
    private readonly clock: Clock,
  ) {}

  async execute(commandId: string): Promise<CommandStatusDto> {
    const current = await this.status.execute(commandId);
    if (!current) throw new CommandNotFoundError(commandId);
    if (current.status === 'cancelled') return current;
    if (current.status !== 'queued' && current.status !== 'scheduled') {
      throw new CommandNotCancellableError(commandId, current.status);
    }
    // Its successors on the aggregate wait for its predecessor instead, which may not have run;
    // and who sent it stays on record once its job is gone.
    const { after, sentBy } = await this.queue.fieldsOf(commandId);
    const standing = await this.outcomes.cancel({ commandId, commandType: current.type, after, sentBy }, this.clock.now());
    if (standing !== 'cancelled') throw new CommandNotCancellableError(commandId, standing);
    // Best effort, and an unreachable Redis does not undo the answer: the outcome is recorded,
    // so a job left behind (held by a worker, or not removed) is refused by the unit of work.
    await this.queue.remove(commandId).catch(() => false);
    // The commands parked behind it look again now rather than at their next recheck: they run,
    // or park again behind what it was waiting for.
    await this.queue.wakeSuccessors(commandId).catch(() => undefined);
    const sender = current.sentBy ?? sentBy?.name;
    return { commandId, type: current.type, status: 'cancelled', attempts: 0, ...(sender === undefined ? {} : { sentBy: sender }) };
  }
}
