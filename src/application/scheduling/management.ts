import type { CreateSchedule } from './create-schedule.js';
import type { DeleteSchedule } from './delete-schedule.js';
import type { GetSchedule } from './get-schedule.js';
import type { ListScheduleRuns } from './list-schedule-runs.js';
import type { ListSchedules } from './list-schedules.js';

/**
 * The schedule use cases, as the HTTP routes call them; src/main builds the real ones. Each is
 * only its `execute`, so a test can stand in for any of them. They throw the errors of
 * ./errors.ts, which the HTTP error handler maps.
 */
export interface ScheduleManagement {
  createSchedule: Pick<CreateSchedule, 'execute'>;
  listSchedules: Pick<ListSchedules, 'execute'>;
  getSchedule: Pick<GetSchedule, 'execute'>;
  deleteSchedule: Pick<DeleteSchedule, 'execute'>;
  listRuns: Pick<ListScheduleRuns, 'execute'>;
}
