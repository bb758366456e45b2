// Procfile `mailer`: sends the emails the relay enqueues on the `emails` queue.
import { createInfrastructure, exitOnSignal, loadConfigOrExit } from '../src/main/infrastructure.js';
import { startMailer } from '../src/main/roles/mailer.js';

const infra = await createInfrastructure(loadConfigOrExit(), 'mailer');
const running = startMailer(infra);
exitOnSignal(infra.logger, async () => {
  await running.stop();
  await infra.close();
});
