import { EntitySchema } from '@mikro-orm/core';
import { primaryUuid, uuid, varchar, integer, json, timestamp } from './columns.js';

// Tables of the scheduling capability (docs/adr/0007-recurring-schedules-and-order-expiry.md):
// the definition of every recurring schedule (PostgreSQL keeps it, so a Redis that lost its job
// schedulers gets them back) and the runs each one started. Used through plain SQL.

export class ScheduleRecord {
  id!: string;
  name!: string;
  /** Seconds between runs; null for a cron schedule. */
  everySeconds: number | null = null;
  /** A 5-field cron expression; null for an `every` schedule. */
  cron: string | null = null;
  /** IANA time zone of the cron expression; null for an `every` schedule. */
  timezone: string | null = null;
  commandType!: string;
  /** The command's body as validated at creation (its ids included, but no command id). */
  commandBody!: Record<string, unknown>;
  createdAt!: Date;
}

export const ScheduleSchema = new EntitySchema<ScheduleRecord>({
  class: ScheduleRecord,
  tableName: 'schedules',
  properties: {
    id: primaryUuid(),
    name: varchar(200),
    everySeconds: integer({ nullable: true }),
    cron: varchar(200, { nullable: true }),
    timezone: varchar(64, { nullable: true }),
    commandType: varchar(64),
    commandBody: json(),
    createdAt: timestamp(),
  },
});

export class ScheduleRunRecord {
  /** The run's command: GET /v1/commands/{commandId} follows it. */
  commandId!: string;
  scheduleId!: string;
  /** The tick this run is for (the scheduler's time, not when a worker got to it). */
  dueAt!: Date;
  createdAt!: Date;
}

export const ScheduleRunSchema = new EntitySchema<ScheduleRunRecord>({
  class: ScheduleRunRecord,
  tableName: 'schedule_runs',
  properties: {
    commandId: primaryUuid(),
    scheduleId: uuid(),
    dueAt: timestamp(),
    createdAt: timestamp(),
  },
  indexes: [
    { name: 'schedule_runs_schedule_due_index', properties: ['scheduleId', 'dueAt'] },
    // Retention walks the runs oldest first (docs/adr/0010-retention.md).
    { name: 'schedule_runs_created_at_index', properties: ['createdAt', 'commandId'] },
  ],
});

export const schedulingEntities = [ScheduleSchema, ScheduleRunSchema];
