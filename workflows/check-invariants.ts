import { control, lookAtHost } from './activity-options';
import { reasonOf } from './saga';
import type { HostView, InvariantReport } from '../db/invariants';

/**
 * The invariant checker (`npm run check`): each live host's engines, read in detail by its agent,
 * and the database, checked together. A host that does not answer is reported unchecked.
 */
export async function checkInvariants(options: { settled?: boolean } = {}): Promise<InvariantReport> {
  const hostIds = await control.hostsToReconcile();
  const hosts: HostView[] = await Promise.all(hostIds.map(async (hostId) => {
    try {
      return { hostId, objects: (await lookAtHost(hostId).inventory(true)).objects };
    } catch (err) {
      return { hostId, error: reasonOf(err) };
    }
  }));
  return control.evaluateInvariants(hosts, options.settled ?? false);
}
