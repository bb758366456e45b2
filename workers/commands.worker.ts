// Procfile `worker`: runs the command use cases from the `commands` queue.
import { createInfrastructure, exitOnSignal, loadConfigOrExit } from '../src/main/infrastructure.js';
import { startCommandWorker } from '../src/main/roles/command-worker.js';

const infra = await createInfrastructure(loadConfigOrExit(), 'worker');
const running = startCommandWorker(infra);
exitOnSignal(infra.logger, async () => {
  await running.stop();
  await infra.close();
});
