// Procfile `web`: the intake API.
import { runProcess } from '../lifecycle.js';
import { startWebProcess } from '../roles/web.js';

await runProcess(startWebProcess);
