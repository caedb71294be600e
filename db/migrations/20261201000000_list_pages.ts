import type { Knex } from 'knex';

// Every list is read a page at a time in a fixed order ending in a unique column (db/page.ts):
// these indexes answer each page's row comparison and order without a scan or a sort.
const INDEXES: [string, string][] = [
  ['instances_page_idx', 'instances (created_at desc, id desc)'],
  ['instances_owner_page_idx', 'instances (owner_id, created_at desc, id desc)'],
  ['operations_page_idx', 'operations (created_at desc, id desc)'],
  ['operations_requested_by_page_idx', 'operations (requested_by, created_at desc, id desc)'],
  ['operations_instance_page_idx', 'operations (instance_id, created_at desc, id desc)'],
  ['instance_events_instance_page_idx', 'instance_events (instance_id, created_at desc, id desc)'],
  ['instance_events_host_page_idx', 'instance_events (host_id, created_at desc, id desc)'],
  ['snapshots_instance_page_idx', 'snapshots (instance_id, created_at desc, id desc)'],
  ['ip_addresses_pool_page_idx', 'ip_addresses (pool_id, sort_key)'],
  ['ip_health_runs_page_idx', 'ip_health_runs (created_at desc, id desc)'],
  ['api_tokens_user_page_idx', 'api_tokens (user_id, created_at, id)'],
];

export async function up(knex: Knex): Promise<void> {
  for (const [name, on] of INDEXES) await knex.raw(`create index if not exists ${name} on ${on}`);
  // The older indexes these replace.
  await knex.raw('drop index if exists instance_events_instance_idx');
  await knex.raw('drop index if exists instance_events_host_idx');
}

export async function down(knex: Knex): Promise<void> {
  for (const [name] of INDEXES) await knex.raw(`drop index if exists ${name}`);
  await knex.raw('create index if not exists instance_events_instance_idx on instance_events (instance_id, created_at)');
  await knex.raw('create index if not exists instance_events_host_idx on instance_events (host_id, created_at)');
}
