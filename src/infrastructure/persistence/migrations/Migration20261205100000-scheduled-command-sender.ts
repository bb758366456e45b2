import { Migration } from '@mikro-orm/migrations';

// Who sent a scheduled command (the API key's id and name), beside its payload: the sweeper
// restores the job of a command whose job Redis lost with its sender, so the command's outcome
// and status still name it (docs/adr/0011-api-keys-and-scopes.md). Columns of their own rather
// than inside `payload`, which an earlier relay parses strictly. Nullable, no default: adding
// them rewrites nothing.
export class Migration20261205100000_scheduled_command_sender extends Migration {

  override async up(): Promise<void> {
    this.addSql(`alter table "scheduled_commands" add column if not exists "sent_by_key_id" varchar(64) null, add column if not exists "sent_by" varchar(100) null;`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "scheduled_commands" drop column if exists "sent_by_key_id", drop column if exists "sent_by";`);
  }

}
