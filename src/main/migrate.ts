// `npm run db:migrate` / Procfile `release`: creates the database if needed and applies migrations.
import { loadConfig } from '../infrastructure/config.js';
import { migrate } from '../infrastructure/persistence/mikro-orm.js';

const config = loadConfig();
const applied = await migrate(config.databaseUrl);
console.log(applied.length > 0 ? `applied migrations: ${applied.join(', ')}` : 'database is up to date');
