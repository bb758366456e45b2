import { DomainError } from '../../domain/index.js';
import type { CommandStatus } from './queries/get-command-status.js';

// Errors of requests about a command itself (not of the command's use case). Like domain errors
// they carry a stable `code` and no HTTP status; the API maps them (404, 409).

export class CommandNotFoundError extends DomainError {
  readonly code = 'command_not_found';

  constructor(commandId: string) {
    super(`there is no command ${commandId}`);
  }
}

/** Only a command that has not started may be cancelled. */
export class CommandNotCancellableError extends DomainError {
  readonly code = 'command_not_cancellable';

  constructor(
    commandId: string,
    readonly status: CommandStatus,
  ) {
    super(`command ${commandId} is ${status}: only a queued or scheduled command can be cancelled`);
  }
}
