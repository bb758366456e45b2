// `npm run db:migrate` / Procfile `release`: creates the database if needed, applies migrations,
// then encrypts every webhook secret under the first key of WEBHOOK_SECRET_KEYS (plaintext left
// by a release before secrets were encrypted, and values under an older key).
import { describeReencryptReport } from '../../infrastructure/webhooks/reencrypt-secrets.js';
import { migrate } from '../../infrastructure/persistence/mikro-orm.js';
import { exitOnFatalError, loadConfigOrExit } from '../lifecycle.js';
import { reencryptSecrets } from '../roles/webhooks.js';

exitOnFatalError();
const config = loadConfigOrExit();
const applied = await migrate(config.databaseUrl);
console.log(applied.length > 0 ? `applied migrations: ${applied.join(', ')}` : 'database is up to date');
const report = await reencryptSecrets(config);
for (const line of describeReencryptReport(report)) console.log(line);
// A secret no key opens stops the release: the processes it would start could not sign for
// that endpoint. Everything else is encrypted already; the message names the key to add back.
if (report.unreadable.length > 0) {
  console.error(`conveyor release: ${report.unreadable.length} webhook secret(s) cannot be read with WEBHOOK_SECRET_KEYS`);
  process.exitCode = 1;
}
