// Procfile `web`: the intake API.
import { createInfrastructure, exitOnSignal, loadConfigOrExit } from './infrastructure.js';
import { buildWeb } from './roles/web.js';

const infra = await createInfrastructure(loadConfigOrExit(), 'web');
const web = await buildWeb(infra);
await web.app.listen({ port: infra.config.port, host: infra.config.host });
exitOnSignal(infra.logger, async () => {
  await web.stop();
  await infra.close();
});
