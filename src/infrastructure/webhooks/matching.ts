export { endpointMatches } from '../../application/webhooks/event-types.js';

/**
 * The condition on `webhook_endpoints` that selects the endpoints receiving an event whose type
 * is bound at `param`: enabled, not deleted, and subscribed to the type or to "*"
 * (`event_types` is a jsonb array). Same rule as `endpointMatches`. `param` is the placeholder
 * of the caller's driver (`?` for knex/MikroORM, `$1` for pg); `table` the name or alias the
 * columns are qualified with. Written with `@>` rather than the jsonb `?` operator, which would
 * clash with knex bindings.
 */
export function matchingEndpointsWhere(param = '?', table = 'webhook_endpoints'): string {
  return `${table}.enabled and ${table}.deleted_at is null
    and (${table}.event_types @> jsonb_build_array(${param}::text) or ${table}.event_types @> '["*"]'::jsonb)`;
}

/** The ids of the endpoints that receive an event of the type bound to `?` (knex/MikroORM binding). */
export const MATCHING_ENDPOINTS_SQL = `select id from webhook_endpoints where ${matchingEndpointsWhere()} order by id`;
