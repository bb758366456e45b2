import { Migration } from '@mikro-orm/migrations';

// Retention deletes the runs of schedules recorded longer ago than RETENTION_SCHEDULE_RUNS,
// oldest first along this index (docs/adr/0010-retention.md). `if not exists`: on a large
// schedule_runs table an operator may build it beforehand with `create index concurrently`
// under the same name, as for orders_pending_placed_at_index.
export class Migration20261205000000_schedule_runs_retention_index extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create index if not exists "schedule_runs_created_at_index" on "schedule_runs" ("created_at", "command_id");`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop index if exists "schedule_runs_created_at_index";`);
  }

}
