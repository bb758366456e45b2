import { Migration } from '@mikro-orm/migrations';

export class Migration20261202100000_webhook_endpoint_lifecycle extends Migration {

  override async up(): Promise<void> {
    this.addSql(`alter table "webhook_endpoints" add "previous_secret" varchar(128) null, add "previous_secret_expires_at" timestamptz(3) null, add "disabled_at" timestamptz(3) null, add "failing_since" timestamptz(3) null;`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "webhook_endpoints" drop column "previous_secret", drop column "previous_secret_expires_at", drop column "disabled_at", drop column "failing_since";`);
  }

}
