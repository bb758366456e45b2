// Procfile `relay`: publishes outbox rows as email and webhook jobs; sweeps lost jobs back.
import { runProcess } from '../lifecycle.js';
import { startRelayProcess } from '../roles/relay.js';

await runProcess(startRelayProcess);
