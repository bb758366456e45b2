import { Migration20261122000718_initial } from './Migration20261122000718-initial.js';
import { Migration20261122001740_deliveries } from './Migration20261122001740-deliveries.js';
import { Migration20261122004956_outbox_trace_context } from './Migration20261122004956-outbox-trace-context.js';
import { Migration20261201000000_webhook_running_attempt } from './Migration20261201000000-webhook-running-attempt.js';
import { Migration20261202010709_schedules } from './Migration20261202010709-schedules.js';
import { Migration20261202100000_webhook_endpoint_lifecycle } from './Migration20261202100000-webhook-endpoint-lifecycle.js';
import { Migration20261202110000_email_status_and_retention } from './Migration20261202110000-email-status-and-retention.js';
import { Migration20261202130000_command_triage } from './Migration20261202130000-command-triage.js';
import { Migration20261202140000_webhook_delivery_rate } from './Migration20261202140000-webhook-delivery-rate.js';
import { Migration20261202150000_webhook_secrets_at_rest } from './Migration20261202150000-webhook-secrets-at-rest.js';
import { Migration20261202160000_api_keys } from './Migration20261202160000-api-keys.js';
import { Migration20261202010521_scheduled_commands } from './Migration20261202010521-scheduled-commands.js';

// Every migration, in order. `npm run db:migration:create <name>` writes a new file beside
// this one (against a migrated database); add it to the end of the list.
export const migrationsList = [
  { name: 'Migration20261122000718-initial', class: Migration20261122000718_initial },
  { name: 'Migration20261122001740-deliveries', class: Migration20261122001740_deliveries },
  { name: 'Migration20261122004956-outbox-trace-context', class: Migration20261122004956_outbox_trace_context },
  { name: 'Migration20261201000000-webhook-running-attempt', class: Migration20261201000000_webhook_running_attempt },
  { name: 'Migration20261202010521-scheduled-commands', class: Migration20261202010521_scheduled_commands },
  { name: 'Migration20261202010709-schedules', class: Migration20261202010709_schedules },
  { name: 'Migration20261202100000-webhook-endpoint-lifecycle', class: Migration20261202100000_webhook_endpoint_lifecycle },
  { name: 'Migration20261202110000-email-status-and-retention', class: Migration20261202110000_email_status_and_retention },
  { name: 'Migration20261202130000-command-triage', class: Migration20261202130000_command_triage },
  { name: 'Migration20261202140000-webhook-delivery-rate', class: Migration20261202140000_webhook_delivery_rate },
  { name: 'Migration20261202150000-webhook-secrets-at-rest', class: Migration20261202150000_webhook_secrets_at_rest },
  { name: 'Migration20261202160000-api-keys', class: Migration20261202160000_api_keys },
];
