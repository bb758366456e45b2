// Procfile `webhooks`: sends the signed webhook deliveries from the `webhooks` queue.
import { createInfrastructure, exitOnSignal, loadConfigOrExit } from '../src/main/infrastructure.js';
import { startWebhooks } from '../src/main/roles/webhooks.js';

const infra = await createInfrastructure(loadConfigOrExit(), 'webhooks');
const running = startWebhooks(infra);
exitOnSignal(infra.logger, async () => {
  await running.stop();
  await infra.close();
});
