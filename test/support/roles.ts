// The Procfile process types and where their entry points are: the one place tests learn them.

/** Each role's entry point, relative to the repository root (run through tsx). */
export const ROLE_ENTRIES = {
  web: 'src/main/web.ts',
  worker: 'workers/commands.worker.ts',
  relay: 'workers/relay.worker.ts',
  mailer: 'workers/mailer.worker.ts',
  webhooks: 'workers/webhooks.worker.ts',
} as const;

export type Role = keyof typeof ROLE_ENTRIES;
export type WorkerRole = Exclude<Role, 'web'>;

/** The info line each worker role logs once it is built (its BullMQ worker or relay started). */
export const READY_MESSAGE: Record<WorkerRole, string> = {
  worker: '"msg":"command worker started"',
  relay: '"msg":"relay started"',
  mailer: '"msg":"mailer started"',
  webhooks: '"msg":"webhooks worker started"',
};
