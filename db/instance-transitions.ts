import type { Knex } from 'knex';
import { TRANSITIONS } from '../lib/instance-states';

/**
 * Makes the `instance_transitions` table (which the `instances_transition` trigger checks every
 * state change against) equal to lib/instance-states.ts, so the code's table and the database's
 * are one. Runs after every `migrate latest`.
 */
export async function syncTransitions(knex: Knex): Promise<void> {
  if (!(await knex.schema.hasTable('instance_transitions'))) return;
  const rows = Object.entries(TRANSITIONS).flatMap(([from, tos]) => tos.map((to) => ({ from_state: from, to_state: to })));
  await knex.transaction(async (trx) => {
    await trx('instance_transitions').delete();
    await trx('instance_transitions').insert(rows);
  });
}
