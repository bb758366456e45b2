// `npm run keys -- create|list|revoke …`: the operator's API key CLI (docs/adr/0011-api-keys-and-scopes.md).
import pg from 'pg';
import { runKeysCli } from '../keys-cli.js';
import { applicationName } from '../infrastructure.js';
import { exitOnFatalError, loadConfigOrExit } from '../lifecycle.js';

exitOnFatalError();
const config = loadConfigOrExit();
const pool = new pg.Pool({ connectionString: config.databaseUrl, max: 1, fallback_application_name: applicationName('keys') });
try {
  process.exitCode = await runKeysCli(process.argv.slice(2), pool, {
    out: (line) => process.stdout.write(`${line}\n`),
    err: (line) => process.stderr.write(`${line}\n`),
  });
} finally {
  await pool.end();
}
