import type { Knex } from 'knex';

// A zone is one L2 segment: no two zones may share a bridge or overlapping subnets (an address
// would mean two machines). Enforced here, so two concurrent creates cannot both pass a check.
export async function up(knex: Knex): Promise<void> {
  await knex.raw('alter table zones add constraint zones_bridge_unique unique (bridge)');
  await knex.raw('alter table zones add constraint zones_subnet_no_overlap exclude using gist ((subnet::inet) inet_ops with &&)');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('alter table zones drop constraint zones_subnet_no_overlap');
  await knex.raw('alter table zones drop constraint zones_bridge_unique');
}
