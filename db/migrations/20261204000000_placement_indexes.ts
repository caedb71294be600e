import type { Knex } from 'knex';

// What a claim reads under its host's lock, found by index (bench/placement): the migrations and
// moving resizes that hold a host as their target (a handful of rows, so a partial index).
export async function up(knex: Knex): Promise<void> {
  await knex.raw('create index if not exists instances_target_host_idx on instances (target_host_id) where target_host_id is not null');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('drop index if exists instances_target_host_idx');
}
