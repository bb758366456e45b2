import { Migration } from '@mikro-orm/migrations';

// Each endpoint's own delivery rate (deliveries per second); null follows WEBHOOK_DELIVERY_RATE
// (docs/adr/0013-webhook-delivery-rate.md). A nullable column without a default: no table rewrite.
export class Migration20261202140000_webhook_delivery_rate extends Migration {

  override async up(): Promise<void> {
    this.addSql(`alter table "webhook_endpoints" add column "delivery_rate" double precision null;`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "webhook_endpoints" drop column "delivery_rate";`);
  }

}
