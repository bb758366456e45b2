// Baseline of the intake figure: the web process exactly as src/main/web.ts builds it —
// createInfrastructure, buildWeb → buildApp with the same plugins, bearer auth, zod validation,
// idempotency store, logger, Bull Board and docs — except that its CommandSender does nothing.
// buildWeb constructs the sender itself, so its `send` is replaced on the prototype: the
// baseline follows whatever buildWeb wires, and differs from the real server only in enqueueing.
import { BullMqCommandSender } from '../../src/infrastructure/queue/bullmq-command-sender.js';
import { createInfrastructure, exitOnSignal, loadConfigOrExit } from '../../src/main/infrastructure.js';
import { buildWeb } from '../../src/main/roles/web.js';

BullMqCommandSender.prototype.send = async () => undefined;

const infra = await createInfrastructure(loadConfigOrExit(), 'web');
const web = await buildWeb(infra);
await web.app.listen({ port: infra.config.port, host: infra.config.host });
exitOnSignal(infra.logger, async () => {
  await web.stop();
  await infra.close();
});
