// `npm run webhooks:reencrypt` (or `node dist/src/main/entries/webhooks-reencrypt.js`): puts
// every stored webhook secret under the first key of WEBHOOK_SECRET_KEYS, the step between
// adding a new key and removing the old one (docs/adr/0015-webhook-secrets-at-rest.md).
// Idempotent; safe while the other processes run. Exits 1 if a secret cannot be read.
import { describeReencryptReport } from '../../infrastructure/webhooks/reencrypt-secrets.js';
import { checkMigrated } from '../infrastructure.js';
import { exitOnFatalError, loadConfigOrExit } from '../lifecycle.js';
import { reencryptSecrets } from '../roles/webhooks.js';

exitOnFatalError();
const config = loadConfigOrExit();
await checkMigrated(config);
const report = await reencryptSecrets(config);
for (const line of describeReencryptReport(report)) console.log(line);
if (report.unreadable.length > 0) process.exitCode = 1;
