import { Migration } from '@mikro-orm/migrations';

// API keys as principals (docs/adr/0011-api-keys-and-scopes.md): only the SHA-256 of each key
// is stored, with its visible prefix, a name, its scopes and an optional rate-limit override.
// Each processed command records the key that sent it (its id and, as it was then, its name).
export class Migration20261202160000_api_keys extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create table "api_keys" ("id" uuid not null, "name" varchar(100) not null, "prefix" varchar(32) not null, "key_hash" varchar(64) not null, "scopes" jsonb not null, "rate_limit_per_minute" int null, "created_at" timestamptz(3) not null, "last_used_at" timestamptz(3) null, "revoked_at" timestamptz(3) null, constraint "api_keys_pkey" primary key ("id"));`);
    this.addSql(`alter table "api_keys" add constraint "api_keys_key_hash_unique" unique ("key_hash");`);
    this.addSql(`alter table "api_keys" add constraint "api_keys_prefix_unique" unique ("prefix");`);
    this.addSql(`alter table "processed_commands" add column "sent_by_key_id" varchar(64) null, add column "sent_by" varchar(100) null;`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "processed_commands" drop column "sent_by_key_id", drop column "sent_by";`);
    this.addSql(`drop table if exists "api_keys" cascade;`);
  }

}
