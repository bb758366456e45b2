// Procfile `webhooks`: sends the signed webhook deliveries from the `webhooks` queue.
import { loadConfig } from '../src/infrastructure/config.js';
import { createInfrastructure, exitOnSignal } from '../src/main/infrastructure.js';
import { startWebhooks } from '../src/main/roles/webhooks.js';

const infra = await createInfrastructure(loadConfig(), 'webhooks');
const running = startWebhooks(infra);
exitOnSignal(infra.logger, async () => {
  await running.stop();
  await infra.close();
});
