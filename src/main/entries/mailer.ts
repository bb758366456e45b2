// Procfile `mailer`: sends the emails the relay enqueues on the `emails` queue.
import { runProcess } from '../lifecycle.js';
import { startMailerProcess } from '../roles/mailer.js';

await runProcess(startMailerProcess);
