import type { Knex } from 'knex';

// Host failure without split brain: automatic failover per zone, how a host is fenced (its fence
// command, and when and how it was last fenced), and where its agent answers its peers.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('zones', (t) => {
    t.boolean('auto_failover').notNullable().defaultTo(false);
  });
  await knex.schema.alterTable('hosts', (t) => {
    // An argument vector (no shell), run by the control worker to power the host off (IPMI, a PDU).
    t.jsonb('fence_command');
    t.timestamp('fenced_at', { useTz: true });
    t.text('fenced_by');
    // host:port where the agent answers its zone's other agents: "can you reach the control plane?"
    t.text('peer_address');
  });
  await knex.raw(`alter table hosts add constraint hosts_fenced_by_check check (fenced_by in ('command', 'admin', 'self'))`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('alter table hosts drop constraint hosts_fenced_by_check');
  await knex.schema.alterTable('hosts', (t) => {
    t.dropColumn('fence_command');
    t.dropColumn('fenced_at');
    t.dropColumn('fenced_by');
    t.dropColumn('peer_address');
  });
  await knex.schema.alterTable('zones', (t) => t.dropColumn('auto_failover'));
}
