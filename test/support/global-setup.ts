// Runs once before all test files: migrates a template database that each test file clones
// (CREATE DATABASE ... TEMPLATE is a file copy, far faster than migrating per file). The name
// is unique per run, so two test runs on one machine never pull a template from under each other.
import type { TestProject } from 'vitest/node';
import { migrate } from '../../src/infrastructure/persistence/mikro-orm.js';
import { adminQuery, withDatabase } from './database.js';

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const name = `conveyor_test_template_${process.pid}`;
  await adminQuery(`drop database if exists ${name}`);
  await migrate(withDatabase(name));
  project.provide('templateDatabase', name);
  return async () => {
    await adminQuery(`drop database if exists ${name} with (force)`);
  };
}
