import type pg from 'pg';
import { SECRET_COLUMNS, SecretUnreadableError, type SecretColumn, type WebhookSecretCipher } from './secret-cipher.js';

// Brings every stored webhook secret under the current key (the first of WEBHOOK_SECRET_KEYS):
// plaintext left by a release before secrets were encrypted is encrypted, and values under an
// older key are encrypted again. Run by the release step (every upgrade) and by the operator
// command `npm run webhooks:reencrypt` (a key rotation: docs/adr/0015-webhook-secrets-at-rest.md).
// Deleted endpoints are included: their secrets are at rest too.

export interface ReencryptReport {
  /** The key every value is now under. */
  keyId: string;
  /** Plaintext values (stored before secrets were encrypted), now encrypted. */
  encrypted: number;
  /** Values under another key, now under `keyId`. */
  reencrypted: number;
  /** Values already under `keyId`, left as they are. */
  unchanged: number;
  /** Values that could not be opened, left as they are: where, and why. */
  unreadable: { endpointId: string; column: SecretColumn; reason: string }[];
}

const BATCH = 500;
/** Tries per value when a concurrent rotation changes it between the read and the write. */
const TRIES = 5;

export async function reencryptWebhookSecrets(pool: pg.Pool, cipher: WebhookSecretCipher): Promise<ReencryptReport> {
  const report: ReencryptReport = { keyId: cipher.currentKeyId, encrypted: 0, reencrypted: 0, unchanged: 0, unreadable: [] };
  let after = '00000000-0000-0000-0000-000000000000';
  for (;;) {
    const { rows } = await pool.query<{ id: string; secret: string; previous_secret: string | null }>(
      'select id, secret, previous_secret from webhook_endpoints where id > $1 order by id limit $2',
      [after, BATCH],
    );
    for (const row of rows) {
      for (const column of SECRET_COLUMNS) await reencryptValue(pool, cipher, row.id, column, row[column], report);
    }
    const last = rows.at(-1);
    if (!last || rows.length < BATCH) return report;
    after = last.id;
  }
}

async function reencryptValue(
  pool: pg.Pool,
  cipher: WebhookSecretCipher,
  endpointId: string,
  column: SecretColumn,
  first: string | null,
  report: ReencryptReport,
): Promise<void> {
  let stored = first;
  for (let tries = 0; tries < TRIES; tries++) {
    if (stored === null) return;
    // Every value is opened, those under the current key too: the report then lists every
    // value no process could sign with (altered, copied from another row), not only old keys.
    let plaintext: string;
    try {
      plaintext = cipher.open(stored, { endpointId, column });
    } catch (error) {
      if (!(error instanceof SecretUnreadableError)) throw error;
      report.unreadable.push({ endpointId, column, reason: error.message });
      return;
    }
    const kind = cipher.inspect(stored);
    if (kind.kind === 'encrypted' && kind.keyId === cipher.currentKeyId) {
      report.unchanged++;
      return;
    }
    // `column` is one of SECRET_COLUMNS, never input. The value is replaced only if it is still
    // the one read: a rotation that wrote meanwhile wins, and its value is looked at again.
    const { rowCount } = await pool.query(`update webhook_endpoints set ${column} = $1 where id = $2 and ${column} = $3`, [
      cipher.seal(plaintext, { endpointId, column }),
      endpointId,
      stored,
    ]);
    if ((rowCount ?? 0) > 0) {
      if (kind.kind === 'plaintext') report.encrypted++;
      else report.reencrypted++;
      return;
    }
    const { rows } = await pool.query<{ value: string | null }>(`select ${column} as value from webhook_endpoints where id = $1`, [endpointId]);
    stored = rows[0]?.value ?? null;
  }
  throw new Error(`webhook endpoint ${endpointId}: its ${column} kept changing while it was being re-encrypted`);
}

/** The report for an operator: one line of counts, then one per unreadable value. */
export function describeReencryptReport(report: ReencryptReport): string[] {
  const lines = [
    `webhook secrets under key "${report.keyId}": ${report.encrypted} encrypted (were plaintext), ` +
      `${report.reencrypted} re-encrypted from an older key, ${report.unchanged} already current, ` +
      `${report.unreadable.length} unreadable`,
  ];
  for (const item of report.unreadable) lines.push(`  unreadable: ${item.reason}`);
  if (report.unreadable.length === 0) {
    lines.push(`no secret needs a key other than "${report.keyId}": older keys may now be removed from WEBHOOK_SECRET_KEYS`);
  } else {
    lines.push('keep every key these values name in WEBHOOK_SECRET_KEYS, or rotate those endpoints\' secrets (POST …/rotate-secret)');
  }
  return lines;
}
