import type { Knex } from 'knex';

// A pool's addresses are written a batch per transaction (a /16 is eight), so a request never holds
// one transaction for all of them. Until the last batch is in, the pool is `building`; a pool left
// so by a crash is finished by the next API start, or by a PATCH with its range; the addresses its
// creator asked to keep reserved are kept with it until then, so a finished build reserves them too.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('ip_pools', (t) => {
    t.text('state').notNullable().defaultTo('ready').checkIn(['building', 'ready'], 'ip_pools_state_check');
    t.specificType('reserved', 'text[]').notNullable().defaultTo('{}');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('ip_pools', (t) => {
    t.dropColumn('state');
    t.dropColumn('reserved');
  });
}
