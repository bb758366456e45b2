import { Migration } from '@mikro-orm/migrations';

export class Migration20261122000718_initial extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create table "orders" ("id" uuid not null, "user_id" uuid not null, "status" varchar(16) not null, "items" jsonb not null, "total_minor" bigint not null, "currency" char(3) not null, "placed_at" timestamptz(3) not null, "updated_at" timestamptz(3) not null, "cancel_reason" text null, constraint "orders_pkey" primary key ("id"));`);
    this.addSql(`create index "orders_user_id_placed_at_index" on "orders" ("user_id", "placed_at");`);

    this.addSql(`create table "outbox_messages" ("id" uuid not null, "type" varchar(64) not null, "aggregate_type" varchar(32) not null, "aggregate_id" uuid not null, "payload" jsonb not null, "occurred_at" timestamptz(3) not null, "published_at" timestamptz(3) null, constraint "outbox_messages_pkey" primary key ("id"));`);
    this.addSql(`create index "outbox_messages_unpublished_index" on "outbox_messages" ("id") where "published_at" is null;`);

    this.addSql(`create table "processed_commands" ("command_id" uuid not null, "command_type" varchar(64) not null, "status" varchar(16) not null, "result" jsonb null, "error" jsonb null, "processed_at" timestamptz(3) not null, constraint "processed_commands_pkey" primary key ("command_id"));`);

    this.addSql(`create table "products" ("id" uuid not null, "sku" varchar(64) not null, "name" varchar(200) not null, "price_minor" bigint not null, "currency" char(3) not null, "stock" int not null, "created_at" timestamptz(3) not null, "updated_at" timestamptz(3) not null, constraint "products_pkey" primary key ("id"), constraint products_stock_non_negative check (stock >= 0));`);
    this.addSql(`alter table "products" add constraint "products_sku_unique" unique ("sku");`);

    this.addSql(`create table "users" ("id" uuid not null, "email" varchar(254) not null, "name" varchar(200) not null, "created_at" timestamptz(3) not null, constraint "users_pkey" primary key ("id"));`);
    this.addSql(`alter table "users" add constraint "users_email_unique" unique ("email");`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "orders" cascade;`);

    this.addSql(`drop table if exists "outbox_messages" cascade;`);

    this.addSql(`drop table if exists "processed_commands" cascade;`);

    this.addSql(`drop table if exists "products" cascade;`);

    this.addSql(`drop table if exists "users" cascade;`);
  }

}
