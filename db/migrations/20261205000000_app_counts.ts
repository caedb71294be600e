import type { Knex } from 'knex';

// The app spread's counts, kept by the database as instances are placed, moved and given back, so
// that placement reads an app's count on a host with one key lookup and knows the least count of a
// zone without scanning the app's instances (bench/placement: an app on every one of 10,000 hosts).
// An instance counts where the spread weigher counts it: an app, a host and a claimed cpuset.
//   host_app_counts  (host, app) -> n > 0 instances of the app there
//   zone_app_counts  (zone, app) -> how many hosts have the app
//   zone_host_counts zone -> how many hosts it has, in any state
// Triggers keep them; the invariant checker compares them with the instances (db/invariants.ts).
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    create table host_app_counts (
      host_id text not null references hosts(id) on delete cascade,
      app text not null,
      zone_id text not null references zones(id) on delete cascade,
      n integer not null check (n >= 0),
      primary key (host_id, app)
    );
    create index host_app_counts_least on host_app_counts (zone_id, app, n);
    create table zone_app_counts (
      zone_id text not null references zones(id) on delete cascade,
      app text not null,
      hosts integer not null check (hosts >= 0),
      primary key (zone_id, app)
    );
    create table zone_host_counts (
      zone_id text primary key references zones(id) on delete cascade,
      hosts integer not null check (hosts >= 0)
    );

    create function count_app_instances() returns trigger language plpgsql as $$
    declare
      was boolean := tg_op <> 'INSERT' and old.app is not null and old.host_id is not null and old.cpuset is not null;
      now_ boolean := tg_op <> 'DELETE' and new.app is not null and new.host_id is not null and new.cpuset is not null;
      left_ integer;
      inserted boolean;
    begin
      if was and now_ and old.host_id = new.host_id and old.app = new.app and old.zone_id = new.zone_id then return null; end if;
      if was then
        update host_app_counts set n = n - 1 where host_id = old.host_id and app = old.app returning n into left_;
        if left_ = 0 then
          delete from host_app_counts where host_id = old.host_id and app = old.app;
          update zone_app_counts set hosts = hosts - 1 where zone_id = old.zone_id and app = old.app returning hosts into left_;
          if left_ = 0 then delete from zone_app_counts where zone_id = old.zone_id and app = old.app; end if;
        end if;
      end if;
      if now_ then
        -- xmax = 0: the row was inserted, not updated (the host's first instance of the app).
        insert into host_app_counts as c (host_id, app, zone_id, n) values (new.host_id, new.app, new.zone_id, 1)
          on conflict (host_id, app) do update set n = c.n + 1 returning (c.xmax = 0) into inserted;
        if inserted then
          insert into zone_app_counts as z (zone_id, app, hosts) values (new.zone_id, new.app, 1)
            on conflict (zone_id, app) do update set hosts = z.hosts + 1;
        end if;
      end if;
      return null;
    end $$;
    create trigger instances_count_apps after insert or delete or update of host_id, cpuset, app, zone_id on instances
      for each row execute function count_app_instances();

    create function count_zone_hosts() returns trigger language plpgsql as $$
    begin
      if tg_op = 'UPDATE' and old.zone_id = new.zone_id then return null; end if;
      if tg_op <> 'INSERT' then update zone_host_counts set hosts = hosts - 1 where zone_id = old.zone_id; end if;
      if tg_op <> 'DELETE' then
        insert into zone_host_counts as z (zone_id, hosts) values (new.zone_id, 1) on conflict (zone_id) do update set hosts = z.hosts + 1;
      end if;
      return null;
    end $$;
    create trigger hosts_count_zone after insert or delete or update of zone_id on hosts
      for each row execute function count_zone_hosts();

    insert into zone_host_counts (zone_id, hosts) select zone_id, count(*) from hosts group by zone_id;
    insert into host_app_counts (host_id, app, zone_id, n)
      select host_id, app, min(zone_id), count(*) from instances
      where app is not null and host_id is not null and cpuset is not null group by host_id, app;
    insert into zone_app_counts (zone_id, app, hosts) select zone_id, app, count(*) from host_app_counts group by zone_id, app;
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    drop trigger if exists hosts_count_zone on hosts;
    drop trigger if exists instances_count_apps on instances;
    drop function if exists count_zone_hosts();
    drop function if exists count_app_instances();
    drop table if exists zone_host_counts;
    drop table if exists zone_app_counts;
    drop table if exists host_app_counts;
  `);
}
