// Procfile `mailer`: sends the emails the relay enqueues on the `emails` queue.
import { loadConfig } from '../src/infrastructure/config.js';
import { createInfrastructure, exitOnSignal } from '../src/main/infrastructure.js';
import { startMailer } from '../src/main/roles/mailer.js';

const infra = await createInfrastructure(loadConfig(), 'mailer');
const running = startMailer(infra);
exitOnSignal(infra.logger, async () => {
  await running.stop();
  await infra.close();
});
