import { Migration } from '@mikro-orm/migrations';

// Webhook secrets encrypted at rest (docs/adr/0015-webhook-secrets-at-rest.md): the sealed form
// `enc:v1:<key id>:<iv>:<tag>:<ciphertext>` is longer than the 128 characters the plaintext
// columns held. Widening varchar to text rewrites nothing. The rows themselves are encrypted by
// the release step after the migrations (src/main/entries/migrate.ts), with the key from the
// environment, which a migration does not have.
export class Migration20261202150000_webhook_secrets_at_rest extends Migration {

  override async up(): Promise<void> {
    this.addSql(`alter table "webhook_endpoints" alter column "secret" type text using ("secret"::text), alter column "previous_secret" type text using ("previous_secret"::text);`);
  }

  override async down(): Promise<void> {
    // Encrypted values do not fit 128 characters: decrypt them first (there is no command for
    // that; restore from a backup taken before the upgrade instead).
    this.addSql(`alter table "webhook_endpoints" alter column "secret" type varchar(128) using ("secret"::varchar(128)), alter column "previous_secret" type varchar(128) using ("previous_secret"::varchar(128));`);
  }

}
