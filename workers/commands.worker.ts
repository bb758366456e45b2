// Procfile `worker`: runs the command use cases from the `commands` queue.
import { loadConfig } from '../src/infrastructure/config.js';
import { createInfrastructure, exitOnSignal } from '../src/main/infrastructure.js';
import { startCommandWorker } from '../src/main/roles/command-worker.js';

const infra = await createInfrastructure(loadConfig(), 'worker');
const running = startCommandWorker(infra);
exitOnSignal(infra.logger, async () => {
  await running.stop();
  await infra.close();
});
