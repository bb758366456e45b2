import { Migration } from '@mikro-orm/migrations';

export class Migration20261201000000_webhook_running_attempt extends Migration {

  override async up(): Promise<void> {
    this.addSql(`alter table "webhook_deliveries" add column "attempt_id" uuid null, add column "attempt_started_at" timestamptz(3) null;`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "webhook_deliveries" drop column "attempt_id", drop column "attempt_started_at";`);
  }

}
