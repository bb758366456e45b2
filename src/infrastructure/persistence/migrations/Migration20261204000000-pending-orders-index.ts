import { Migration } from '@mikro-orm/migrations';

// Orders expire by a sweep of the pending orders in PostgreSQL instead of a delayed job per
// order (docs/adr/0020-order-expiry-sweep.md): the sweep reads the pending orders placed before
// a cutoff, oldest first, through this partial index. `if not exists`: on a large orders table an
// operator may build it beforehand with `create index concurrently` under the same name, since
// a migration runs in a transaction and its `create index` blocks writes to orders meanwhile.
export class Migration20261204000000_pending_orders_index extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create index if not exists "orders_pending_placed_at_index" on "orders" ("placed_at", "id") where "status" = 'pending';`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop index if exists "orders_pending_placed_at_index";`);
  }

}
