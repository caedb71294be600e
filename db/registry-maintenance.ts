import type { Db } from './connection';

/**
 * Operation types whose workflows may push to the registry (a container's snapshot, for itself or
 * for a migration or an evacuation; a conversion to a Docker image; an image made from a snapshot). A collection starts only when
 * none of them runs, and each push first checks that no collection holds the registry: both sides
 * lock the one maintenance row, so neither can slip past the other.
 */
export const PUSHING_OPERATION_TYPES = ['snapshot', 'convert', 'migrate', 'evacuate', 'restore', 'make-image'];

/** A push met a collection: retried with backoff until the collection ends (an infrastructure wait, not a failure). */
export class RegistryBusyError extends Error {
  constructor(until: Date) {
    super(`the registry is being garbage-collected (until ${until.toISOString()} at the latest)`);
    this.name = 'RegistryBusyError';
  }
}

/** Before a push, in the step's transaction: refused while a collection holds the registry. */
export async function assertRegistryOpen(trx: Db): Promise<void> {
  const row = await trx('registry_maintenance').forShare().first('gc_until', trx.raw('gc_until > now() as held'));
  if (row?.held) throw new RegistryBusyError(row.gc_until);
}

/** Takes the registry for a collection by `by` for `leaseSeconds`, unless pushes may be running; the same `by` may take it again. */
export async function beginRegistryGc(db: Db, by: string, leaseSeconds: number): Promise<{ started: boolean; reason?: string }> {
  return db.transaction(async (trx) => {
    const row = await trx('registry_maintenance').forUpdate().first('gc_by', trx.raw('gc_until > now() as held'));
    if (row?.held && row.gc_by !== by) return { started: false, reason: `another collection (${row.gc_by}) holds the registry` };
    const running = await trx('operations').where({ state: 'running' }).whereIn('type', PUSHING_OPERATION_TYPES).count<{ n: string }[]>('* as n');
    const n = Number(running[0].n);
    if (n > 0) return { started: false, reason: `${n} operation(s) that may push to the registry are running` };
    await trx('registry_maintenance').update({ gc_until: trx.raw(`now() + make_interval(secs => ?)`, [leaseSeconds]), gc_by: by });
    return { started: true };
  });
}

export async function endRegistryGc(db: Db, by: string): Promise<void> {
  await db('registry_maintenance').where({ gc_by: by }).update({ gc_until: null, gc_by: null });
}

/**
 * What the image store must keep: the locations of live images and snapshots, and the ids of those
 * still being made (their files have names with the id in them and no recorded location yet).
 */
export async function storeReferences(db: Db): Promise<{ locations: Set<string>; makingIds: string[] }> {
  const images = await db('images').whereNot({ state: 'deleted' }).select('id', 'location', 'state');
  const snapshots = await db('snapshots').whereNot({ state: 'deleted' }).select('id', 'location', 'state');
  const rows = [...images, ...snapshots];
  return {
    locations: new Set(rows.map((r) => r.location).filter((l): l is string => Boolean(l))),
    makingIds: rows.filter((r) => r.state === 'pending').map((r) => r.id),
  };
}
