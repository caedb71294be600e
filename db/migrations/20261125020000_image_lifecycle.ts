import type { Knex } from 'knex';

// Images are deleted softly: instances that ran from one keep pointing at its row. The name is
// unique only among images that are not deleted.
export async function up(knex: Knex): Promise<void> {
  await knex.raw('alter table images drop constraint images_state_check');
  await knex.raw(`alter table images add constraint images_state_check check (state in ('pending', 'ready', 'failed', 'deleted'))`);
  await knex.raw('alter table images drop constraint images_name_unique');
  await knex.raw(`create unique index images_live_name_unique on images (name) where state <> 'deleted'`);
  await knex.raw('alter table images add column failure text');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('alter table images drop column failure');
  await knex.raw('drop index images_live_name_unique');
  // Deleted images stay (instances point at them), renamed so the old unique name holds.
  await knex.raw(`update images set name = name || '-deleted-' || id, state = 'failed' where state = 'deleted'`);
  await knex.raw('alter table images add constraint images_name_unique unique (name)');
  await knex.raw('alter table images drop constraint images_state_check');
  await knex.raw(`alter table images add constraint images_state_check check (state in ('pending', 'ready', 'failed'))`);
}
