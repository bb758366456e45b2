import { Migration } from '@mikro-orm/migrations';

export class Migration20261122001740_deliveries extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create table "email_messages" ("id" uuid not null, "event_id" uuid not null, "template" varchar(32) not null, "to_address" varchar(254) not null, "message_id" varchar(255) not null, "status" varchar(16) not null default 'pending', "attempts" int not null default 0, "last_response" text null, "next_attempt_at" timestamptz(3) null, "created_at" timestamptz(3) not null, "sent_at" timestamptz(3) null, constraint "email_messages_pkey" primary key ("id"));`);
    this.addSql(`create index "email_messages_pending_index" on "email_messages" ("created_at") where "status" = 'pending';`);
    this.addSql(`alter table "email_messages" add constraint "email_messages_event_template_unique" unique ("event_id", "template");`);

    this.addSql(`create table "webhook_delivery_attempts" ("id" uuid not null, "delivery_id" uuid not null, "attempted_at" timestamptz(3) not null, "status_code" int null, "duration_ms" int not null, "error" text null, constraint "webhook_delivery_attempts_pkey" primary key ("id"));`);
    this.addSql(`create index "webhook_delivery_attempts_delivery_index" on "webhook_delivery_attempts" ("delivery_id");`);

    this.addSql(`create table "webhook_deliveries" ("id" uuid not null, "endpoint_id" uuid not null, "event_id" uuid not null, "event_type" varchar(64) not null, "body" text not null, "status" varchar(16) not null default 'pending', "attempts" int not null default 0, "next_attempt_at" timestamptz(3) null, "last_status_code" int null, "last_error" text null, "created_at" timestamptz(3) not null, "delivered_at" timestamptz(3) null, constraint "webhook_deliveries_pkey" primary key ("id"));`);
    this.addSql(`create index "webhook_deliveries_endpoint_created_index" on "webhook_deliveries" ("endpoint_id", "created_at");`);
    this.addSql(`create index "webhook_deliveries_pending_index" on "webhook_deliveries" ("next_attempt_at") where "status" = 'pending';`);
    this.addSql(`alter table "webhook_deliveries" add constraint "webhook_deliveries_endpoint_event_unique" unique ("endpoint_id", "event_id");`);

    this.addSql(`create table "webhook_endpoints" ("id" uuid not null, "url" text not null, "event_types" jsonb not null, "secret" varchar(128) not null, "enabled" boolean not null default true, "disabled_reason" text null, "created_at" timestamptz(3) not null, "deleted_at" timestamptz(3) null, constraint "webhook_endpoints_pkey" primary key ("id"));`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "email_messages" cascade;`);

    this.addSql(`drop table if exists "webhook_delivery_attempts" cascade;`);

    this.addSql(`drop table if exists "webhook_deliveries" cascade;`);

    this.addSql(`drop table if exists "webhook_endpoints" cascade;`);
  }

}
