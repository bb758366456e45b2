import { COMMANDS_QUEUE } from './commands.js';
import { EMAILS_QUEUE } from './emails.js';
import { MAINTENANCE_QUEUE } from './maintenance.js';
import { WEBHOOKS_QUEUE } from './webhooks.js';

/** Every queue conveyor has; Bull Board shows them all. Each one's contract is in its own file. */
export const QUEUES = {
  commands: COMMANDS_QUEUE,
  emails: EMAILS_QUEUE,
  webhooks: WEBHOOKS_QUEUE,
  maintenance: MAINTENANCE_QUEUE,
} as const;

export type QueueName = (typeof QUEUES)[keyof typeof QUEUES];
export const ALL_QUEUES: readonly QueueName[] = Object.values(QUEUES);
