import {
  PostgreSqlDriver,
  ReferenceKind,
  Utils,
  isRaw,
  type EntityDictionary,
  type EntityMetadata,
  type EntityName,
  type EntityProperty,
  type FilterQuery,
  type NativeInsertUpdateOptions,
  type QueryResult,
  type UpsertOptions,
} from '@mikro-orm/postgresql';

/**
 * MikroORM's PostgreSQL driver, with the flush's UPDATE of one entity by its primary key
 * written as a plain statement instead of through a QueryBuilder.
 *
 * Every changed entity of a flush becomes one `nativeUpdate` (`useBatchUpdates: false`, see
 * `ormConfig`), and the driver builds each with a QueryBuilder: its criteria processing and
 * compilation cost ~0.1 ms of CPU per statement — 13.6 % of the unit of work's CPU on PlaceOrder,
 * whose two-line orders update two products (docs/benchmarks.md, seventh pass). For the update a flush sends
 * — one entity of a simple table, by its primary key, scalar columns set to plain values — the
 * statement is `update <table> set "a" = ?, "b" = ? where "pk" = ?`, which is what the
 * QueryBuilder compiles (a test holds the two alike). The values go through the driver's own
 * mapping (`mapDataToFieldNames`: field names, custom types), and the statement through the
 * driver's own `execute` (parameter formatting, logging, error conversion), as before.
 * Anything else — an upsert, a version or generated column to read back, inheritance, a
 * relation, a raw fragment in the values or the condition, a query that can be aborted — goes
 * to MikroORM's own `nativeUpdate`.
 */
export class ConveyorPostgreSqlDriver extends PostgreSqlDriver {
  override nativeUpdate<T extends object>(
    entityName: EntityName<T>,
    where: FilterQuery<T>,
    data: EntityDictionary<T>,
    options: NativeInsertUpdateOptions<T> & UpsertOptions<T> = {},
  ): Promise<QueryResult<T>> {
    // An upsert, a union of conditions or a query that can be aborted (`signal`) is MikroORM's.
    const mikroOrms = options.upsert || options.unionWhere?.length || options.signal != null || options.inflightQueryAbortStrategy != null;
    const statement = mikroOrms ? undefined : this.primaryKeyUpdate(this.metadata.get(entityName), where, data, options);
    if (!statement) return super.nativeUpdate(entityName, where, data, options);
    return this.execute<QueryResult<T>>(statement.sql, statement.params, 'run', options.ctx, options.loggerContext);
  }

  /** The plain UPDATE of one row by its primary key, or undefined where MikroORM's own path is needed. */
  private primaryKeyUpdate<T extends object>(
    meta: EntityMetadata<T>,
    where: FilterQuery<T>,
    data: EntityDictionary<T>,
    options: NativeInsertUpdateOptions<T>,
  ): { sql: string; params: unknown[] } | undefined {
    const primary = plainPrimaryKey(meta);
    if (!primary) return undefined;
    const id = primaryKeyOf(where, primary.name);
    if (id === undefined) return undefined;
    const keys = Object.keys(data);
    if (keys.length === 0) return undefined;
    for (const key of keys) {
      const prop = (meta.properties as Record<string, EntityProperty<T> | undefined>)[key];
      if (prop?.kind !== ReferenceKind.SCALAR || prop.fieldNames.length !== 1 || prop.embeddedProps || prop.hasConvertToDatabaseValueSQL || prop.primary) {
        return undefined;
      }
    }
    const columns = this.mapDataToFieldNames(data, true, meta.properties, options.convertCustomTypes ?? true);
    const sets: string[] = [];
    const params: unknown[] = [];
    for (const [column, value] of Object.entries(columns)) {
      if (!isPlainValue(value)) return undefined;
      sets.push(`${this.platform.quoteIdentifier(column)} = ?`);
      params.push(value);
    }
    params.push(id);
    return {
      sql: `update ${this.getTableName(meta, options)} set ${sets.join(', ')} where ${this.platform.quoteIdentifier(primary.fieldNames[0]!)} = ?`,
      params,
    };
  }
}

/** What an entity's metadata says once, kept per entity: its single-column primary key, or null for MikroORM's path. */
const plainPrimaryKeys = new WeakMap<EntityMetadata, EntityProperty | null>();

function plainPrimaryKey<T extends object>(meta: EntityMetadata<T>): EntityProperty<T> | null {
  let primary = plainPrimaryKeys.get(meta as EntityMetadata);
  if (primary === undefined) {
    const only = meta.primaryKeys.length === 1 ? meta.properties[meta.primaryKeys[0]!] : undefined;
    // Inheritance of any kind (a child of a single-table hierarchy has a root of its own and
    // needs the discriminator in its WHERE), a composite key, a version column, or a generated
    // column read back with RETURNING: MikroORM's.
    const plain =
      only?.fieldNames.length === 1 &&
      meta.root === meta &&
      !meta.tptParent &&
      !meta.inheritanceType &&
      !meta.discriminatorColumn &&
      !meta.versionProperty &&
      !meta.props.some((prop) => prop.generated && !prop.primary);
    primary = plain ? (only as EntityProperty) : null;
    plainPrimaryKeys.set(meta as EntityMetadata, primary);
  }
  return primary as EntityProperty<T> | null;
}

/**
 * The primary key value `where` names, alone or as `{ [pk]: value }`; undefined for any other
 * condition. Only a plain string or number counts as the value (not a raw fragment or a
 * reference, which MikroORM would inline or unwrap), and a condition with a symbol key (a raw
 * fragment as a key, e.g. `{ id, [sql`stock >= 1`]: [] }`) is another condition, not the key alone.
 */
function primaryKeyOf(where: unknown, name: string): unknown {
  if (isKeyValue(where)) return where;
  if (!Utils.isPlainObject(where) || Object.getOwnPropertySymbols(where).length > 0) return undefined;
  const keys = Object.keys(where);
  const value = (where as Record<string, unknown>)[name];
  return keys.length === 1 && keys[0] === name && isKeyValue(value) ? value : undefined;
}

const isKeyValue = (value: unknown): value is string | number | bigint =>
  typeof value === 'string' || typeof value === 'number' || typeof value === 'bigint';

/** A value the driver formats as one parameter: not a raw fragment, an operator object or an array. */
function isPlainValue(value: unknown): boolean {
  if (value === null || value instanceof Date || Buffer.isBuffer(value)) return true;
  if (isRaw(value)) return false;
  return ['string', 'number', 'boolean', 'bigint'].includes(typeof value);
}
