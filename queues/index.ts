// The typed contract between conveyor's processes: one file per queue (name, job names,
// payload schema, job options and backoff) and the failure-reason codec. No connections here:
// those are adapters (src/infrastructure/redis).
export * from './names.js';
export * from './commands.js';
export * from './emails.js';
export * from './webhooks.js';
export * from './maintenance.js';
export * from './retention.js';
export * from './failure.js';
