import type { Knex } from 'knex';

// One operation lifecycle and a reconciler:
// - an operation ends succeeded, failed or cancelled; the run of its workflow that owns it is
//   recorded (a reset starts a new run, which takes the row over), with the workflow type and the
//   state the instance (or host) was in when it was accepted;
// - `repairing` instances keep their address and capacity until a repair ends them in `repair_to`;
// - the allowed instance transitions are a table the database enforces with a trigger;
// - what the reconciler saw on the engines (sightings, for grace periods) and did (events).
export async function up(knex: Knex): Promise<void> {
  await knex.raw('alter table operations drop constraint operations_state_check');
  await knex.raw(`alter table operations add constraint operations_state_check
    check (state in ('running', 'succeeded', 'failed', 'cancelled'))`);
  await knex.schema.alterTable('operations', (t) => {
    t.text('run_id');
    t.text('workflow_type');
    t.text('prior_state');
  });
  await knex.raw(`create index operations_running_idx on operations (created_at) where state = 'running'`);

  await knex.raw('alter table instances drop constraint instances_state_check');
  await knex.raw(`alter table instances add constraint instances_state_check check (state in
    ('pending', 'provisioning', 'running', 'stopped', 'paused', 'migrating', 'deleting', 'repairing', 'deleted', 'failed'))`);
  await knex.schema.alterTable('instances', (t) => {
    t.text('repair_to');
  });
  await knex.raw(`alter table instances add constraint instances_repair_to_check
    check (repair_to in ('running', 'stopped', 'paused', 'failed', 'deleted') and state = 'repairing' or repair_to is null and state <> 'repairing')`);

  await knex.schema.createTable('instance_transitions', (t) => {
    t.text('from_state').notNullable();
    t.text('to_state').notNullable();
    t.primary(['from_state', 'to_state']);
  });
  await knex.raw(`create function instances_check_transition() returns trigger language plpgsql as $$
    begin
      if new.state is distinct from old.state and not exists
        (select 1 from instance_transitions where from_state = old.state and to_state = new.state) then
        raise exception 'instance % may not go from % to %', old.id, old.state, new.state using errcode = 'check_violation';
      end if;
      return new;
    end $$`);
  await knex.raw(`create trigger instances_transition before update of state on instances
    for each row execute function instances_check_transition()`);

  await knex.schema.createTable('instance_events', (t) => {
    t.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'));
    t.uuid('instance_id');
    t.text('host_id');
    t.text('kind').notNullable();
    t.text('detail').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
  await knex.raw('create index instance_events_instance_idx on instance_events (instance_id, created_at)');
  await knex.raw('create index instance_events_host_idx on instance_events (host_id, created_at)');

  // First time the reconciler saw an engine object without a live instance (or a live instance
  // without its object): acted on only when still so after the grace period.
  await knex.schema.createTable('reconcile_sightings', (t) => {
    t.text('host_id').notNullable();
    t.uuid('instance_id').notNullable();
    t.text('kind').notNullable().checkIn(['orphan', 'missing'], 'reconcile_sightings_kind_check');
    t.integer('rounds').notNullable().defaultTo(1);
    t.timestamp('first_seen_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.primary(['host_id', 'instance_id', 'kind']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('reconcile_sightings');
  await knex.schema.dropTable('instance_events');
  await knex.raw('drop trigger instances_transition on instances');
  await knex.raw('drop function instances_check_transition()');
  await knex.schema.dropTable('instance_transitions');
  // The constraint goes first: while it stands, a repairing row cannot leave `repairing` (its repair_to is set).
  await knex.raw('alter table instances drop constraint instances_repair_to_check');
  await knex.raw(`update instances set state = 'failed' where state = 'repairing'`);
  await knex.schema.alterTable('instances', (t) => t.dropColumn('repair_to'));
  await knex.raw('alter table instances drop constraint instances_state_check');
  await knex.raw(`alter table instances add constraint instances_state_check check (state in
    ('pending', 'provisioning', 'running', 'stopped', 'paused', 'migrating', 'deleting', 'deleted', 'failed'))`);
  await knex.raw('drop index operations_running_idx');
  await knex.schema.alterTable('operations', (t) => {
    t.dropColumn('run_id');
    t.dropColumn('workflow_type');
    t.dropColumn('prior_state');
  });
  await knex.raw(`update operations set state = 'failed' where state = 'cancelled'`);
  await knex.raw('alter table operations drop constraint operations_state_check');
  await knex.raw(`alter table operations add constraint operations_state_check check (state in ('running', 'succeeded', 'failed'))`);
}
