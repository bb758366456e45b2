import { Migration } from '@mikro-orm/migrations';

export class Migration20261122004956_outbox_trace_context extends Migration {

  override async up(): Promise<void> {
    this.addSql(`alter table "outbox_messages" add column "command_id" uuid null, add column "trace_context" jsonb null;`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "outbox_messages" drop column "command_id", drop column "trace_context";`);
  }

}
