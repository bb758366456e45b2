import { Migration } from '@mikro-orm/migrations';

// Issue 13 (email status, retention): what an operator sees of an email (the subject it was
// sent with, when it was settled) and the indexes the email listing and the retention deletes
// walk. No backfill: a settled row without finished_at is aged by its created_at.
export class Migration20261202110000_email_status_and_retention extends Migration {

  override async up(): Promise<void> {
    this.addSql(`alter table "email_messages" add column "subject" varchar(998) null, add column "finished_at" timestamptz(3) null;`);
    this.addSql(`create index "email_messages_created_index" on "email_messages" ("created_at", "id");`);
    this.addSql(`create index "email_messages_status_created_index" on "email_messages" ("status", "created_at", "id");`);
    this.addSql(`create index "email_messages_to_created_index" on "email_messages" ("to_address", "created_at", "id");`);

    this.addSql(`create index "webhook_deliveries_status_created_index" on "webhook_deliveries" ("status", "created_at", "id");`);
    this.addSql(`create index "webhook_deliveries_pending_event_index" on "webhook_deliveries" ("event_id") where "status" = 'pending';`);

    this.addSql(`create index "outbox_messages_published_index" on "outbox_messages" ("published_at", "id") where "published_at" is not null;`);

    this.addSql(`create index "processed_commands_processed_at_index" on "processed_commands" ("processed_at", "command_id");`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop index if exists "processed_commands_processed_at_index";`);
    this.addSql(`drop index if exists "outbox_messages_published_index";`);
    this.addSql(`drop index if exists "webhook_deliveries_pending_event_index";`);
    this.addSql(`drop index if exists "webhook_deliveries_status_created_index";`);
    this.addSql(`drop index if exists "email_messages_to_created_index";`);
    this.addSql(`drop index if exists "email_messages_status_created_index";`);
    this.addSql(`drop index if exists "email_messages_created_index";`);
    this.addSql(`alter table "email_messages" drop column "subject", drop column "finished_at";`);
  }

}
