// `npm run db:migrate` / Procfile `release`: creates the database if needed and applies migrations.
import { migrate } from '../../infrastructure/persistence/mikro-orm.js';
import { exitOnFatalError, loadConfigOrExit } from '../lifecycle.js';

exitOnFatalError();
const config = loadConfigOrExit();
const applied = await migrate(config.databaseUrl);
console.log(applied.length > 0 ? `applied migrations: ${applied.join(', ')}` : 'database is up to date');
