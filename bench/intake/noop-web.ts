// Baseline of the intake figure: the web process exactly as src/main/entries/web.ts builds it —
// startWebProcess: buildWeb → buildApp with the same plugins, bearer auth, zod validation,
// idempotency store, logger, Bull Board and docs — except that its CommandSender does nothing.
// buildWeb constructs the sender itself, so its `send` is replaced on the prototype: the
// baseline follows whatever buildWeb wires, and differs from the real server only in enqueueing.
import { BullMqCommandSender } from '../../src/infrastructure/queue/bullmq-command-sender.js';
import { runProcess } from '../../src/main/lifecycle.js';
import { startWebProcess } from '../../src/main/roles/web.js';

BullMqCommandSender.prototype.send = async () => undefined;

await runProcess(startWebProcess);
