import { parseArgs } from 'node:util';
import type pg from 'pg';
import { uuidv7 } from '../infrastructure/ids.js';
import { CreateApiKey, InvalidApiKeyError, type ApiKey } from '../application/access/api-keys.js';
import { SCOPES } from '../application/access/principal.js';
import { systemClock } from '../application/clock.js';
import { issueApiKey } from '../infrastructure/access/api-key-secrets.js';
import { PgApiKeys } from '../infrastructure/access/pg-api-keys.js';

// The operator's keys CLI (`npm run keys -- …`, or `node dist/src/main/entries/keys.js …` in the
// image): create a key (printed once, never stored), list keys, revoke one.

export const KEYS_USAGE = `usage:
  keys create --name NAME --scopes SCOPE[,SCOPE…] [--rate-limit N] [--json]
  keys list [--json]
  keys revoke ID|PREFIX

scopes: ${SCOPES.join(', ')}
--rate-limit: this key's requests per minute (default: RATE_LIMIT_PER_MINUTE)`;

export interface CliOutput {
  out(line: string): void;
  err(line: string): void;
}

/** Runs one keys command against `pool`; answers the exit code (0 done, 1 not found, 2 usage). */
export async function runKeysCli(argv: string[], pool: pg.Pool, io: CliOutput): Promise<number> {
  const store = new PgApiKeys(pool);
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        name: { type: 'string' },
        scopes: { type: 'string' },
        'rate-limit': { type: 'string' },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (error) {
    io.err(`${(error as Error).message}\n\n${KEYS_USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  const [command, ...rest] = positionals;
  if (values.help) {
    io.out(KEYS_USAGE);
    return 0;
  }
  switch (command) {
    case 'create': {
      if (values.name === undefined || values.scopes === undefined) {
        io.err(`create needs --name and --scopes\n\n${KEYS_USAGE}`);
        return 2;
      }
      const rateText = values['rate-limit'];
      const rateLimitPerMinute = rateText === undefined ? null : /^\d+$/.test(rateText) ? Number(rateText) : Number.NaN;
      try {
        const created = await new CreateApiKey(store, issueApiKey, uuidv7, systemClock).execute({
          name: values.name,
          scopes: values.scopes.split(',').map((scope) => scope.trim()).filter((scope) => scope.length > 0),
          rateLimitPerMinute,
        });
        if (values.json) {
          io.out(JSON.stringify({ ...describe(created.apiKey), key: created.key }));
        } else {
          io.out(`created key "${created.apiKey.name}" (${created.apiKey.prefix}, id ${created.apiKey.id})`);
          io.out(`scopes: ${created.apiKey.scopes.join(', ')}`);
          io.out('');
          io.out(created.key);
          io.out('');
          io.out('This is the only time the key is shown: only its SHA-256 is stored. Web processes accept it within a second.');
        }
        return 0;
      } catch (error) {
        if (error instanceof InvalidApiKeyError) {
          io.err(error.message);
          return 2;
        }
        throw error;
      }
    }
    case 'list': {
      const keys = await store.list();
      if (values.json) {
        io.out(JSON.stringify(keys.map(describe)));
      } else if (keys.length === 0) {
        io.out('no API keys (create one with: keys create --name NAME --scopes …)');
      } else {
        for (const key of keys) {
          const state = key.revokedAt ? `revoked ${key.revokedAt.toISOString()}` : 'active';
          const used = key.lastUsedAt ? key.lastUsedAt.toISOString() : 'never';
          io.out(
            `${key.prefix}  ${key.id}  ${JSON.stringify(key.name)}  ${key.scopes.join(',')}  ` +
              `rate ${key.rateLimitPerMinute ?? 'default'}/min  created ${key.createdAt.toISOString()}  last used ${used}  ${state}`,
          );
        }
      }
      return 0;
    }
    case 'revoke': {
      const ref = rest[0];
      if (ref === undefined || rest.length > 1) {
        io.err(`revoke needs one key id or prefix\n\n${KEYS_USAGE}`);
        return 2;
      }
      const revoked = await store.revoke(ref, systemClock.now());
      if (revoked === null) {
        io.err(`no active key with id or prefix ${JSON.stringify(ref)}`);
        return 1;
      }
      io.out(`revoked key "${revoked.name}" (${revoked.prefix}); every web process refuses it within a second`);
      return 0;
    }
    default:
      io.err(`${command === undefined ? 'no command' : `unknown command ${JSON.stringify(command)}`}\n\n${KEYS_USAGE}`);
      return 2;
  }
}

function describe(key: ApiKey) {
  return {
    id: key.id,
    name: key.name,
    prefix: key.prefix,
    scopes: key.scopes,
    rateLimitPerMinute: key.rateLimitPerMinute,
    createdAt: key.createdAt.toISOString(),
    lastUsedAt: key.lastUsedAt?.toISOString() ?? null,
    revokedAt: key.revokedAt?.toISOString() ?? null,
  };
}
