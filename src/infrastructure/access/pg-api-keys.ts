import type pg from 'pg';
import type { ApiKey, ApiKeyStore } from '../../application/access/api-keys.js';
import { isUuid } from '../persistence/columns.js';
import { isScope, type Scope } from '../../application/access/principal.js';

const COLUMNS = 'id, name, prefix, scopes, rate_limit_per_minute, created_at, last_used_at, revoked_at';

interface KeyRow {
  id: string;
  name: string;
  prefix: string;
  scopes: string[];
  rate_limit_per_minute: number | null;
  created_at: Date;
  last_used_at: Date | null;
  revoked_at: Date | null;
}

/** An active key as the web processes hold it: its hash and what it may do. */
export interface ActiveKey {
  id: string;
  name: string;
  hash: string;
  scopes: Scope[];
  rateLimitPerMinute: number | null;
}

/** The `api_keys` table, over plain SQL on the primary. */
export class PgApiKeys implements ApiKeyStore {
  constructor(private readonly pool: pg.Pool) {}

  async add(key: ApiKey, hash: string): Promise<void> {
    await this.pool.query(
      `insert into api_keys (id, name, prefix, key_hash, scopes, rate_limit_per_minute, created_at)
       values ($1, $2, $3, $4, $5::jsonb, $6, $7)`,
      [key.id, key.name, key.prefix, hash, JSON.stringify(key.scopes), key.rateLimitPerMinute, key.createdAt],
    );
  }

  async list(): Promise<ApiKey[]> {
    const { rows } = await this.pool.query<KeyRow>(`select ${COLUMNS} from api_keys order by created_at, id`);
    return rows.map(toApiKey);
  }

  async revoke(ref: string, at: Date): Promise<ApiKey | null> {
    const { rows } = await this.pool.query<KeyRow>(
      `update api_keys set revoked_at = $2
        where ${isUuid(ref) ? 'id = $1::uuid' : 'prefix = $1'} and revoked_at is null
        returning ${COLUMNS}`,
      [ref, at],
    );
    return rows[0] ? toApiKey(rows[0]) : null;
  }

  /** Every key not revoked, with its hash: what a web process authenticates against. */
  async active(): Promise<ActiveKey[]> {
    const { rows } = await this.pool.query<{ id: string; name: string; key_hash: string; scopes: string[]; rate_limit_per_minute: number | null }>(
      'select id, name, key_hash, scopes, rate_limit_per_minute from api_keys where revoked_at is null',
    );
    return rows.map((row) => ({
      id: row.id,
      name: row.name,
      hash: row.key_hash,
      scopes: row.scopes.filter(isScope),
      rateLimitPerMinute: row.rate_limit_per_minute,
    }));
  }

  /** Records that these keys were used (at most once per refresh, not once per request). */
  async touch(ids: string[], at: Date): Promise<void> {
    if (ids.length === 0) return;
    await this.pool.query('update api_keys set last_used_at = $2 where id = any($1::uuid[]) and revoked_at is null', [ids, at]);
  }
}

function toApiKey(row: KeyRow): ApiKey {
  return {
    id: row.id,
    name: row.name,
    prefix: row.prefix,
    scopes: row.scopes.filter(isScope),
    rateLimitPerMinute: row.rate_limit_per_minute,
    createdAt: row.created_at,
    lastUsedAt: row.last_used_at,
    revokedAt: row.revoked_at,
  };
}
