import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { migrationsList } from '../../../../src/infrastructure/persistence/migrations/index.js';

// A migration's recorded name (mikro_orm_migrations.name) is derived from its class; it must
// stay the name of its file, or a database already migrated would run it again.
const dir = fileURLToPath(new URL('../../../../src/infrastructure/persistence/migrations/', import.meta.url));

describe('the migrations list', () => {
  it('names every migration file once, by its file name, in the order of the files', () => {
    const files = readdirSync(dir)
      .filter((file) => /^Migration\d{14}-.+\.ts$/.test(file))
      .map((file) => file.replace(/\.ts$/, ''))
      .sort();
    expect(migrationsList.map((migration) => migration.name)).toEqual(files);
  });
});
