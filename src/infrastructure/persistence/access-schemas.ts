import { EntitySchema } from '@mikro-orm/core';
import { primaryUuid, varchar, integer, json, timestamp } from './columns.js';

// API keys (docs/adr/0011-api-keys-and-scopes.md): principals of the intake API. Only the
// SHA-256 of a key is stored; `prefix` is its visible start, for people to tell keys apart.
// Used through plain SQL (src/infrastructure/access/pg-api-keys.ts); mapped here so the schema
// check and `db:migration:create` know the table.

export class ApiKeyRecord {
  id!: string;
  name!: string;
  prefix!: string;
  /** Hex SHA-256 of the whole key. */
  keyHash!: string;
  scopes!: string[];
  /** Requests per minute; null: the configured default. */
  rateLimitPerMinute: number | null = null;
  createdAt!: Date;
  lastUsedAt: Date | null = null;
  revokedAt: Date | null = null;
}

export const ApiKeySchema = new EntitySchema<ApiKeyRecord>({
  class: ApiKeyRecord,
  tableName: 'api_keys',
  properties: {
    id: primaryUuid(),
    name: varchar(100),
    prefix: varchar(32, { unique: 'api_keys_prefix_unique' }),
    keyHash: varchar(64, { unique: 'api_keys_key_hash_unique' }),
    scopes: json(),
    rateLimitPerMinute: integer({ nullable: true }),
    createdAt: timestamp(),
    lastUsedAt: timestamp({ nullable: true }),
    revokedAt: timestamp({ nullable: true }),
  },
});

export const accessEntities = [ApiKeySchema];
