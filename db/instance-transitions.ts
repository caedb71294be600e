import type { Knex } from 'knex';
import { TRANSITIONS } from '../lib/instance-states';

/** The advisory lock key of the sync (any constant no other lock of the project uses). */
const TRANSITIONS_LOCK = 0x7663_7472;

/**
 * Makes the `instance_transitions` table (which the `instances_transition` trigger checks every
 * state change against) equal to lib/instance-states.ts, so the code's table and the database's
 * are one. Runs after every `migrate latest`.
 */
export async function syncTransitions(knex: Knex): Promise<void> {
  if (!(await knex.schema.hasTable('instance_transitions'))) return;
  const rows = Object.entries(TRANSITIONS).flatMap(([from, tos]) => tos.map((to) => ({ from_state: from, to_state: to })));
  await knex.transaction(async (trx) => {
    // The API and the control worker both run this as they start: one at a time, or the second's insert
    // meets the first's rows (a unique violation that killed a control worker at its start).
    await trx.raw('select pg_advisory_xact_lock(?)', [TRANSITIONS_LOCK]);
    await trx('instance_transitions').delete();
    await trx('instance_transitions').insert(rows);
  });
}
