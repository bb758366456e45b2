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
import { Migration20261204000000_pending_orders_index } from './Migration20261204000000-pending-orders-index.js';
import { Migration20261205000000_schedule_runs_retention_index } from './Migration20261205000000-schedule-runs-retention-index.js';
import { Migration20261205100000_scheduled_command_sender } from './Migration20261205100000-scheduled-command-sender.js';
import { Migration20261202010521_scheduled_commands } from './Migration20261202010521-scheduled-commands.js';

// Every migration, in order. `npm run db:migration:create <name>` writes a new file beside
// this one (against a migrated database); add its class to the end of the list. A migration's
// name (recorded in mikro_orm_migrations) is its file's: the class name with `-` for `_`
// (test/unit/infrastructure/persistence/migrations-list.test.ts holds every name to its file).
const migrations = [
  Migration20261122000718_initial,
  Migration20261122001740_deliveries,
  Migration20261122004956_outbox_trace_context,
  Migration20261201000000_webhook_running_attempt,
  Migration20261202010521_scheduled_commands,
  Migration20261202010709_schedules,
  Migration20261202100000_webhook_endpoint_lifecycle,
  Migration20261202110000_email_status_and_retention,
  Migration20261202130000_command_triage,
  Migration20261202140000_webhook_delivery_rate,
  Migration20261202150000_webhook_secrets_at_rest,
  Migration20261202160000_api_keys,
  Migration20261204000000_pending_orders_index,
  Migration20261205000000_schedule_runs_retention_index,
  Migration20261205100000_scheduled_command_sender,
];

export const migrationsList = migrations.map((migration) => ({ name: migration.name.replaceAll('_', '-'), class: migration }));
