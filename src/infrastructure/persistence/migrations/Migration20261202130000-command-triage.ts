import { Migration } from '@mikro-orm/migrations';

// Command triage (GET /v1/commands, POST /v1/commands/retry): the attempt and the aggregate of
// each recorded outcome, the keyset indexes the listing walks newest first, and the commands
// that gave up after their retries (no outcome row: that row is the exactly-once record).
// The indexes on processed_commands are built under a write lock; on a large table create them
// beforehand with `create index concurrently` under the same names (`if not exists` skips them).
export class Migration20261202130000_command_triage extends Migration {

  override async up(): Promise<void> {
    this.addSql(`alter table "processed_commands" add column "attempts" int null, add column "aggregate_key" varchar(64) null;`);
    this.addSql(`create index if not exists "processed_commands_processed_at_index" on "processed_commands" ("processed_at", "command_id");`);
    this.addSql(`create index if not exists "processed_commands_failed_index" on "processed_commands" ("processed_at", "command_id") where "status" = 'failed';`);

    this.addSql(`create table "gave_up_commands" ("command_id" uuid not null, "command_type" varchar(64) not null, "aggregate_key" varchar(64) null, "payload" jsonb not null, "error" jsonb not null, "attempts" int not null, "gave_up_at" timestamptz(3) not null, "retried_at" timestamptz(3) null, constraint "gave_up_commands_pkey" primary key ("command_id"));`);
    this.addSql(`create index "gave_up_commands_gave_up_at_index" on "gave_up_commands" ("gave_up_at", "command_id");`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "gave_up_commands" cascade;`);
    this.addSql(`drop index if exists "processed_commands_failed_index";`);
    this.addSql(`drop index if exists "processed_commands_processed_at_index";`);
    this.addSql(`alter table "processed_commands" drop column "attempts", drop column "aggregate_key";`);
  }

}
