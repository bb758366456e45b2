// Procfile `worker`: runs the command use cases from the `commands` queue.
import { runProcess } from '../lifecycle.js';
import { startCommandWorkerProcess } from '../roles/command-worker.js';

await runProcess(startCommandWorkerProcess);
