import { Migration20261122000718_initial } from './Migration20261122000718-initial.js';
import { Migration20261122001740_deliveries } from './Migration20261122001740-deliveries.js';
import { Migration20261122004956_outbox_trace_context } from './Migration20261122004956-outbox-trace-context.js';
import { Migration20261201000000_webhook_running_attempt } from './Migration20261201000000-webhook-running-attempt.js';
import { Migration20261202010521_scheduled_commands } from './Migration20261202010521-scheduled-commands.js';

// Every migration, in order. `npm run db:migration:create <name>` writes a new file beside
// this one (against a migrated database); add it to the end of the list.
export const migrationsList = [
  { name: 'Migration20261122000718-initial', class: Migration20261122000718_initial },
  { name: 'Migration20261122001740-deliveries', class: Migration20261122001740_deliveries },
  { name: 'Migration20261122004956-outbox-trace-context', class: Migration20261122004956_outbox_trace_context },
  { name: 'Migration20261201000000-webhook-running-attempt', class: Migration20261201000000_webhook_running_attempt },
  { name: 'Migration20261202010521-scheduled-commands', class: Migration20261202010521_scheduled_commands },
];
