/** Every queue conveyor has; Bull Board shows them all. */
export const QUEUES = {
  commands: 'commands',
  emails: 'emails',
  webhooks: 'webhooks',
} as const;

export type QueueName = (typeof QUEUES)[keyof typeof QUEUES];
export const ALL_QUEUES: readonly QueueName[] = Object.values(QUEUES);
