// Runs once before all test files: migrates a template database that each test file clones
// (CREATE DATABASE ... TEMPLATE is a file copy, far faster than migrating per file).
import { migrate } from '../../src/infrastructure/persistence/mikro-orm.js';
import { TEMPLATE_DATABASE_URL, adminQuery } from './database.js';

export default async function setup(): Promise<void> {
  await adminQuery(`drop database if exists ${new URL(TEMPLATE_DATABASE_URL).pathname.slice(1)}`);
  await migrate(TEMPLATE_DATABASE_URL);
}
