import { DomainError } from '../../domain/index.js';

// Errors of the schedule use cases. Like domain errors they carry a stable `code` and no HTTP
// status (the API maps them: schedule_not_found → 404, invalid_schedule → 400).

export class ScheduleNotFoundError extends DomainError {
  readonly code = 'schedule_not_found';

  constructor(id: string) {
    super(`schedule ${id} does not exist`);
  }
}

/** The name, the recurrence or the command of a new schedule is refused. */
export class InvalidScheduleError extends DomainError {
  readonly code = 'invalid_schedule';
}
