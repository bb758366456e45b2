// `npm run db:migration:create [name]`: writes a migration for the difference between the
// entity mapping and the database at DATABASE_URL (migrate it first). Development only.
import { loadConfig } from '../../infrastructure/config.js';
import { createOrm } from '../../infrastructure/persistence/mikro-orm.js';

const config = loadConfig();
const orm = await createOrm({ databaseUrl: config.databaseUrl, poolSize: 1 });
try {
  const result = await orm.migrator.create(undefined, false, false, process.argv[2]);
  if (result.diff.up.length === 0) {
    console.log('no changes: the database already matches the mapping');
  } else {
    console.log(`wrote ${result.fileName}: add it to src/infrastructure/persistence/migrations/index.ts`);
  }
} finally {
  await orm.close(true);
}
