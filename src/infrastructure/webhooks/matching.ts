export { endpointMatches } from '../../application/webhooks/event-types.js';

/**
 * The endpoints that receive an event of the type bound to `?` (a knex/MikroORM raw binding):
 * enabled, not deleted, and subscribed to the type or to "*" (`event_types` is a jsonb array).
 * Written with `@>` rather than the jsonb `?` operator, which would clash with the binding.
 * Same rule as `endpointMatches`.
 */
export const MATCHING_ENDPOINTS_SQL = `select id from webhook_endpoints
  where enabled and deleted_at is null
    and (event_types @> jsonb_build_array(?::text) or event_types @> '["*"]'::jsonb)
  order by id`;
