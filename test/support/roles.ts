// The Procfile process types and where their entry points are: the one place tests learn them.

/** Each role's entry point, relative to the repository root (run through tsx). */
export const ROLE_ENTRIES = {
  web: 'src/main/entries/web.ts',
  worker: 'src/main/entries/worker.ts',
  relay: 'src/main/entries/relay.ts',
  mailer: 'src/main/entries/mailer.ts',
  webhooks: 'src/main/entries/webhooks.ts',
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
