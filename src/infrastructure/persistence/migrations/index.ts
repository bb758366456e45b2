import { Migration20261122000718_initial } from './Migration20261122000718-initial.js';

// Every migration, in order. `npm run db:migration:create <name>` writes a new file beside
// this one (against a migrated database); add it to the end of the list.
export const migrationsList = [{ name: 'Migration20261122000718-initial', class: Migration20261122000718_initial }];
