import { Migration } from '@mikro-orm/migrations';

export class Migration20261202010521_scheduled_commands extends Migration {

  override name = 'Migration20261202010521_scheduled_commands';

  override up(): void | Promise<void> {
    this.addSql(`create table "scheduled_commands" ("command_id" uuid not null, "command_type" varchar(64) not null, "payload" jsonb not null, "run_at" timestamptz(3) not null, "created_at" timestamptz(3) not null, primary key ("command_id"));`);
    this.addSql(`create index "scheduled_commands_run_at_index" on "scheduled_commands" ("run_at");`);
  }

  override down(): void | Promise<void> {
    this.addSql(`drop table if exists "scheduled_commands" cascade;`);
  }

}
