import type { Knex } from 'knex';

// The whole data model of DESIGN.md. The invariants live here as constraints, not in code:
// one address to one live instance, one live name per zone, one running mutating operation per
// instance, states from a fixed list.
export async function up(knex: Knex): Promise<void> {
  await knex.raw('create extension if not exists pgcrypto');

  await knex.schema.createTable('users', (t) => {
    t.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'));
    t.text('name').notNullable().unique();
    t.text('role').notNullable().checkIn(['admin', 'user'], 'users_role_check');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });

  await knex.schema.createTable('api_tokens', (t) => {
    t.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'));
    t.uuid('user_id').notNullable().references('users.id').onDelete('CASCADE');
    t.text('token_hash').notNullable().unique();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('revoked_at', { useTz: true });
  });

  await knex.schema.createTable('zones', (t) => {
    t.text('id').primary();
    t.text('subnet').notNullable();
    t.text('gateway').notNullable();
    t.text('bridge').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });

  await knex.schema.createTable('zone_grants', (t) => {
    t.uuid('user_id').notNullable().references('users.id').onDelete('CASCADE');
    t.text('zone_id').notNullable().references('zones.id');
    t.integer('max_vcpus').notNullable().checkPositive();
    t.integer('max_memory_mb').notNullable().checkPositive();
    t.integer('max_instances').notNullable().checkPositive();
    t.primary(['user_id', 'zone_id']);
  });

  await knex.schema.createTable('hosts', (t) => {
    t.text('id').primary();
    t.text('zone_id').notNullable().references('zones.id');
    t.text('state').notNullable().defaultTo('enabled')
      .checkIn(['enabled', 'draining', 'disabled', 'down'], 'hosts_state_check');
    t.integer('vcpus').notNullable();
    t.bigInteger('memory_mb').notNullable();
    t.bigInteger('disk_gb').notNullable();
    t.integer('used_vcpus').notNullable().defaultTo(0);
    t.bigInteger('used_memory_mb').notNullable().defaultTo(0);
    t.bigInteger('used_disk_gb').notNullable().defaultTo(0);
    t.jsonb('numa').notNullable();
    t.specificType('kinds', 'text[]').notNullable();
    t.timestamp('last_heartbeat_at', { useTz: true });
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
  await knex.raw('alter table hosts add constraint hosts_usage_check check (used_vcpus >= 0 and used_memory_mb >= 0 and used_disk_gb >= 0)');

  await knex.schema.createTable('ip_pools', (t) => {
    t.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'));
    t.text('zone_id').notNullable().references('zones.id');
    t.text('first_ip').notNullable();
    t.text('last_ip').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });

  await knex.schema.createTable('images', (t) => {
    t.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'));
    t.text('name').notNullable().unique();
    t.text('kind').notNullable().checkIn(['tgz', 'docker'], 'images_kind_check');
    t.text('location').notNullable();
    t.text('digest');
    t.bigInteger('size_bytes');
    t.jsonb('boot');
    t.uuid('source_image_id').references('images.id');
    t.text('state').notNullable().defaultTo('ready').checkIn(['pending', 'ready', 'failed'], 'images_state_check');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });

  await knex.schema.createTable('instances', (t) => {
    t.uuid('id').primary();
    t.text('name').notNullable();
    t.uuid('owner_id').notNullable().references('users.id');
    t.text('zone_id').notNullable().references('zones.id');
    t.text('host_id').references('hosts.id');
    t.text('kind').notNullable().checkIn(['docker', 'kvm'], 'instances_kind_check');
    t.text('app');
    t.uuid('image_id').notNullable().references('images.id');
    t.integer('vcpus').notNullable();
    t.integer('memory_mb').notNullable();
    t.integer('disk_gb').notNullable();
    t.specificType('cpuset', 'integer[]');
    t.text('ip');
    t.text('mac');
    t.text('hostname');
    t.text('requested_host_id');
    t.text('requested_ip');
    t.text('state').notNullable().defaultTo('pending').checkIn(
      ['pending', 'provisioning', 'running', 'stopped', 'paused', 'migrating', 'deleting', 'deleted', 'failed'],
      'instances_state_check');
    t.text('failure');
    t.integer('generation').notNullable().defaultTo(0);
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
  await knex.raw('alter table instances add constraint instances_size_check check (vcpus > 0 and memory_mb > 0 and disk_gb > 0)');
  await knex.raw(`create unique index instances_live_name_unique on instances (zone_id, name) where state not in ('deleted', 'failed')`);
  await knex.raw(`create unique index instances_live_ip_unique on instances (ip) where ip is not null and state not in ('deleted', 'failed')`);
  await knex.raw('create index instances_owner_idx on instances (owner_id)');
  await knex.raw('create index instances_host_idx on instances (host_id)');

  await knex.schema.createTable('ip_addresses', (t) => {
    t.text('address').notNullable();
    t.text('zone_id').notNullable().references('zones.id');
    t.uuid('pool_id').notNullable().references('ip_pools.id').onDelete('CASCADE');
    t.bigInteger('sort_key').notNullable();
    t.text('state').notNullable().defaultTo('free')
      .checkIn(['free', 'allocated', 'reserved', 'quarantined'], 'ip_addresses_state_check');
    t.uuid('instance_id').references('instances.id');
    t.integer('silent_checks').notNullable().defaultTo(0);
    t.timestamp('last_probe_at', { useTz: true });
    t.boolean('last_probe_answered');
    t.primary(['zone_id', 'address']);
  });
  // An allocated address has exactly one instance; any other state has none.
  await knex.raw(`alter table ip_addresses add constraint ip_addresses_owner_check
    check ((state = 'allocated') = (instance_id is not null))`);
  await knex.raw('create unique index ip_addresses_instance_unique on ip_addresses (instance_id) where instance_id is not null');
  await knex.raw(`create index ip_addresses_free_idx on ip_addresses (zone_id, sort_key) where state = 'free'`);

  await knex.schema.createTable('snapshots', (t) => {
    t.uuid('id').primary();
    t.uuid('instance_id').notNullable().references('instances.id');
    t.text('kind').notNullable().checkIn(['docker', 'kvm'], 'snapshots_kind_check');
    t.text('location');
    t.text('digest');
    t.text('state').notNullable().defaultTo('pending').checkIn(['pending', 'ready', 'failed', 'deleted'], 'snapshots_state_check');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });

  await knex.schema.createTable('operations', (t) => {
    t.uuid('id').primary();
    t.text('type').notNullable();
    t.uuid('instance_id').references('instances.id');
    t.text('host_id').references('hosts.id');
    t.uuid('image_id').references('images.id');
    t.text('workflow_id').notNullable().index();
    t.uuid('requested_by').references('users.id');
    t.text('state').notNullable().defaultTo('running').checkIn(['running', 'succeeded', 'failed'], 'operations_state_check');
    t.text('error');
    t.jsonb('progress');
    t.jsonb('result');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('finished_at', { useTz: true });
  });
  // One running mutating operation per instance: a second one is a 409, not a race.
  await knex.raw(`create unique index operations_one_running_per_instance on operations (instance_id)
    where state = 'running' and instance_id is not null`);

  await knex.schema.createTable('idempotency_keys', (t) => {
    t.uuid('user_id').notNullable().references('users.id').onDelete('CASCADE');
    t.text('key').notNullable();
    t.text('request_hash').notNullable();
    t.integer('status');
    t.jsonb('body');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.primary(['user_id', 'key']);
  });
}

export async function down(knex: Knex): Promise<void> {
  for (const table of ['idempotency_keys', 'operations', 'snapshots', 'ip_addresses', 'instances', 'images',
    'ip_pools', 'hosts', 'zone_grants', 'zones', 'api_tokens', 'users']) {
    await knex.schema.dropTableIfExists(table);
  }
}
