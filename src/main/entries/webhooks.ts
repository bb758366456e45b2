// Procfile `webhooks`: sends the signed webhook deliveries from the `webhooks` queue.
import { runProcess } from '../lifecycle.js';
import { startWebhooksProcess } from '../roles/webhooks.js';

await runProcess(startWebhooksProcess);
