// Procfile `relay`: publishes outbox rows as email and webhook jobs; sweeps lost jobs back.
import { createInfrastructure, exitOnSignal, loadConfigOrExit } from '../src/main/infrastructure.js';
import { startRelay } from '../src/main/roles/relay.js';

const infra = await createInfrastructure(loadConfigOrExit(), 'relay');
const running = await startRelay(infra);
exitOnSignal(infra.logger, async () => {
  await running.stop();
  await infra.close();
});
