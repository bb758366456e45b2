import { describe, expect, it } from 'vitest';
import { preparedStatement } from '../../../../src/infrastructure/persistence/prepared-statement.js';

describe('preparedStatement', () => {
  it('names a text the same way every time, and two texts differently', () => {
    const claim = preparedStatement('select $1::uuid as id');
    expect(preparedStatement('select $1::uuid as id').name).toBe(claim.name);
    expect(preparedStatement('select $1::uuid as id ').name).not.toBe(claim.name);
    // A PostgreSQL identifier: at most 63 bytes, or the server would cut it and names could meet.
    expect(claim.name).toMatch(/^[a-z_][a-z0-9_]{0,62}$/);
  });

  it('gives pg a named query config with the values of the call', () => {
    const statement = preparedStatement('update t set a = $1 where id = $2');
    expect(statement.with([1, 'x'])).toEqual({ name: statement.name, text: 'update t set a = $1 where id = $2', values: [1, 'x'] });
  });
});
