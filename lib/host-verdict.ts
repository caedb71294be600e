/**
 * Is a host dead? One rule, two signals (pure, shared by workflows and activities):
 * - its agent's heartbeat (written to the database every VCLOUD_HEARTBEAT_SECONDS), and
 * - a probe on the host's own probe queue, which ordinary work cannot starve.
 * A host whose probe answers is alive, however stale its heartbeat (it may only have lost the
 * database) and however busy its work queue. A host is dead only when its heartbeat is older than
 * `deadAfterSeconds` and its probe goes unanswered, and only while the control plane is itself
 * healthy (most other hosts of its zone still heartbeat): a control-plane outage makes every host
 * look stale, and must never take the data plane down.
 */
export type Verdict = 'alive' | 'dead' | 'unknown';

export interface LivenessFacts {
  heartbeatAgeSeconds: number | null;
  probeAnswered: boolean;
  /** Fenced (powered off, by its command or by an admin's word) since it was last heard from. */
  fencedSinceHeard?: boolean;
  /** Hosts of the zone other than this one, and how many of them heartbeat now. */
  zonePeers: number;
  zonePeersLive: number;
}

export function controlPlaneHealthy(f: Pick<LivenessFacts, 'zonePeers' | 'zonePeersLive'>): boolean {
  // A zone of one host has nobody to ask: its own staleness is the only signal left.
  return f.zonePeers === 0 || f.zonePeersLive * 2 > f.zonePeers;
}

export function verdict(f: LivenessFacts, deadAfterSeconds: number): Verdict {
  if (f.probeAnswered) return 'alive';
  if (f.fencedSinceHeard) return 'dead';
  const stale = f.heartbeatAgeSeconds === null || f.heartbeatAgeSeconds >= deadAfterSeconds;
  if (stale && controlPlaneHealthy(f)) return 'dead';
  return 'unknown';
}
