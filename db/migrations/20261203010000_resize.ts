import type { Knex } from 'knex';

const STATES = `'pending', 'provisioning', 'running', 'stopped', 'paused', 'migrating', 'deleting', 'repairing', 'deleted', 'failed'`;

// Resize: a VM's domain maxima; the state `resizing`; the sizes before and after (each {vcpus, memoryMb, diskGb, cpuset}) while a
// resize runs, or while a repair conforms a copy an abandoned resize left; the plan stated to the user.
export async function up(knex: Knex): Promise<void> {
  await knex.raw('alter table instances drop constraint instances_state_check');
  await knex.raw(`alter table instances add constraint instances_state_check check (state in (${STATES}, 'resizing'))`);
  await knex.schema.alterTable('instances', (t) => {
    t.jsonb('resize_from');
    t.jsonb('resize_to');
    // A VM's domain maxima (its size times VCLOUD_VM_RESIZE_HEADROOM when defined): within them it resizes live.
    t.integer('max_vcpus');
    t.integer('max_memory_mb');
  });
  await knex.raw(`alter table instances add constraint instances_resize_check check (
    (state <> 'resizing' or resize_from is not null and resize_to is not null)
    and (resize_from is null or state in ('resizing', 'repairing')))`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('alter table instances drop constraint instances_resize_check');
  await knex.schema.alterTable('instances', (t) => {
    t.dropColumn('resize_from');
    t.dropColumn('resize_to');
    t.dropColumn('max_vcpus');
    t.dropColumn('max_memory_mb');
  });
  await knex.raw('alter table instances drop constraint instances_state_check');
  await knex.raw(`alter table instances add constraint instances_state_check check (state in (${STATES}))`);
}
