// `npm start`: every role in one process, on local defaults — for a laptop. Creates and
// migrates the database first. Production runs one role per process (Procfile).
import type { Config } from '../../infrastructure/config.js';
import { migrate } from '../../infrastructure/persistence/mikro-orm.js';
import { createInfrastructure } from '../infrastructure.js';
import { runProcess, type RunningProcess } from '../lifecycle.js';
import { startCommandWorker } from '../roles/command-worker.js';
import { startMailer } from '../roles/mailer.js';
import { startRelay } from '../roles/relay.js';
import { startRetention } from '../roles/retention.js';
import { buildWeb } from '../roles/web.js';
import { reencryptSecrets, startWebhooks } from '../roles/webhooks.js';

async function startAll(config: Config): Promise<RunningProcess> {
  const applied = await migrate(config.databaseUrl);
  const infra = await createInfrastructure(config, 'all');
  const { logger } = infra;
  if (applied.length > 0) logger.info({ applied }, 'migrations applied');
  // As the release step does: webhook secrets stored in plaintext, or under an older key, are
  // encrypted under the current one.
  const { unreadable, ...secrets } = await reencryptSecrets(config);
  if (secrets.encrypted + secrets.reencrypted > 0) logger.info(secrets, 'webhook secrets encrypted');
  for (const item of unreadable) logger.warn(item, 'webhook secret cannot be read');

  const worker = startCommandWorker(infra);
  const relay = await startRelay(infra);
  const retention = startRetention(infra);
  const mailer = startMailer(infra);
  const webhooks = startWebhooks(infra);
  const web = await buildWeb(infra);
  await web.app.listen({ port: config.port, host: config.host });

  const base = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${config.port}`;
  const banner = [
    '',
    'conveyor is up (all roles in one process)',
    `  API          ${base}/v1   (Authorization: Bearer ${config.defaultsApplied.some((d) => d.startsWith('API_KEYS')) ? config.apiKeys[0] : '<a key from npm run keys -- create>'})`,
    `  API docs     ${base}/docs`,
    `  Bull Board   ${base}/admin/queues   (user ${config.admin.user})`,
    `  health       ${base}/health/ready`,
    `  mail         ${config.smtpUrl ? `sent through ${new URL(config.smtpUrl).host}` : `written as .eml files to ${config.mailDir}/`}`,
    '',
  ].join('\n');
  process.stdout.write(`${banner}\n`);

  return {
    logger,
    async stop() {
      await web.stop();
      await Promise.all([worker.stop(), relay.stop(), retention.stop(), mailer.stop(), webhooks.stop()]);
      await infra.close();
    },
  };
}

await runProcess(startAll);
