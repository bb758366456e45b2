import { Migration } from '@mikro-orm/migrations';

export class Migration20261202010709_schedules extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create table "schedules" ("id" uuid not null, "name" varchar(200) not null, "every_seconds" int null, "cron" varchar(200) null, "timezone" varchar(64) null, "command_type" varchar(64) not null, "command_body" jsonb not null, "created_at" timestamptz(3) not null, primary key ("id"));`);

    this.addSql(`create table "schedule_runs" ("command_id" uuid not null, "schedule_id" uuid not null, "due_at" timestamptz(3) not null, "created_at" timestamptz(3) not null, primary key ("command_id"));`);
    this.addSql(`create index "schedule_runs_schedule_due_index" on "schedule_runs" ("schedule_id", "due_at");`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "schedules" cascade;`);
    this.addSql(`drop table if exists "schedule_runs" cascade;`);
  }

}
