import { BigIntType, type PropertyOptions } from '@mikro-orm/core';

// The column definitions the EntitySchemas share, spelled once: every timestamp is a
// timestamptz(3), every key a uuid, and so on. Each returns the plain MikroORM property
// options; `more` adds the rest (nullable, unique, index, default, fieldName).

type More = Pick<PropertyOptions<object>, 'nullable' | 'unique' | 'index' | 'default' | 'fieldName' | 'columnType'>;

/** The table's uuid primary key. */
export const primaryUuid = () => ({ type: 'uuid', primary: true });
export const uuid = (more?: More) => ({ type: 'uuid', ...more });
export const varchar = (length: number, more?: More) => ({ type: 'string', length, ...more });
export const text = (more?: More) => ({ type: 'text', ...more });
export const integer = (more?: More) => ({ type: 'integer', ...more });
export const json = (more?: More) => ({ type: 'json', ...more });
/** Milliseconds, as a JavaScript Date has them. */
export const timestamp = (more?: More) => ({ type: 'datetime', columnType: 'timestamptz(3)', ...more });
/** An amount in minor units: a bigint column read as a number. */
export const money = (more?: More) => ({ type: new BigIntType('number'), ...more });

/** A UUID's text form, as a pattern (case-insensitive) for SQL's `~*` too. */
export const UUID_PATTERN = '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$';
const UUID_SHAPE = new RegExp(UUID_PATTERN, 'i');

/**
 * Whether `value` is a UUID as PostgreSQL reads uuid input here: anything else names no row,
 * and PostgreSQL would refuse it as a uuid parameter (an error that aborts the transaction).
 */
export const isUuid = (value: string): boolean => UUID_SHAPE.test(value);
