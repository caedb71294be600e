import crypto from 'node:crypto';
import { isIpv4 } from '../lib/net';
import { run } from './run';

// What pipework did: a veth pair, one end on the zone bridge, the other inside the container's
// network namespace as eth0 with the platform IP, MAC and default route. Every step checks first,
// so a retried activity finishes the job instead of failing on what an earlier attempt did.

export interface PlumbSpec {
  instanceId: string; hostId: string; pid: number; bridge: string; ip: string; prefix: number; gateway: string; mac: string;
}

const MAC = /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/;
const BRIDGE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,14}$/;

/**
 * Interface names from the host and the instance: two simulated hosts share one kernel here, and
 * a host's agent must never remove the pair of the same instance on another host.
 */
export function vethNames(instanceId: string, hostId: string): { host: string; peer: string } {
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(instanceId)) throw new Error(`bad instance id ${instanceId}`);
  const short = crypto.createHash('sha256').update(`${hostId}/${instanceId}`).digest('hex').slice(0, 12);
  return { host: `vh${short}`, peer: `vp${short}` };
}

function validate(spec: PlumbSpec): void {
  if (!isIpv4(spec.ip) || !isIpv4(spec.gateway)) throw new Error('bad address');
  if (!MAC.test(spec.mac)) throw new Error(`bad MAC ${spec.mac}`);
  if (!BRIDGE.test(spec.bridge)) throw new Error(`bad bridge name ${spec.bridge}`);
  if (!Number.isInteger(spec.pid) || spec.pid <= 1) throw new Error(`bad pid ${spec.pid}`);
  if (!Number.isInteger(spec.prefix) || spec.prefix < 8 || spec.prefix > 30) throw new Error(`bad prefix ${spec.prefix}`);
}

const linkExists = (name: string, ns?: number) =>
  (ns ? run('nsenter', ['-t', String(ns), '-n', 'ip', 'link', 'show', name]) : run('ip', ['link', 'show', name]))
    .then(() => true, () => false);

const inNs = (pid: number, args: string[]) => run('nsenter', ['-t', String(pid), '-n', 'ip', ...args]);

/** The commands, in order, that plumb a fresh pair; pure, so it is tested on its own. */
export function plumbCommands(spec: PlumbSpec): string[][] {
  const { host, peer } = vethNames(spec.instanceId, spec.hostId);
  const pid = String(spec.pid);
  const ns = ['nsenter', '-t', pid, '-n', 'ip'];
  return [
    ['ip', 'link', 'add', host, 'type', 'veth', 'peer', 'name', peer],
    ['ip', 'link', 'set', host, 'alias', vethAlias(spec.hostId, spec.instanceId)],
    ['ip', 'link', 'set', host, 'master', spec.bridge],
    ['ip', 'link', 'set', host, 'up'],
    ['ip', 'link', 'set', peer, 'netns', pid],
    [...ns, 'link', 'set', peer, 'name', 'eth0'],
    [...ns, 'link', 'set', 'eth0', 'address', spec.mac],
    [...ns, 'addr', 'add', `${spec.ip}/${spec.prefix}`, 'dev', 'eth0'],
    [...ns, 'link', 'set', 'eth0', 'up'],
    [...ns, 'link', 'set', 'lo', 'up'],
    [...ns, 'route', 'replace', 'default', 'via', spec.gateway],
  ];
}

export async function plumb(spec: PlumbSpec): Promise<void> {
  validate(spec);
  const { host, peer } = vethNames(spec.instanceId, spec.hostId);
  if (await linkExists('eth0', spec.pid)) {
    const addr = await inNs(spec.pid, ['-4', 'addr', 'show', 'dev', 'eth0']);
    if (addr.includes(`${spec.ip}/${spec.prefix}`) && (await linkExists(host))) return;
  }
  // Leftovers of an interrupted attempt: start the pair again from nothing.
  if (await linkExists(host)) await run('ip', ['link', 'del', host]);
  if (await linkExists(peer)) await run('ip', ['link', 'del', peer]);
  if (await linkExists('eth0', spec.pid)) await inNs(spec.pid, ['link', 'del', 'eth0']);
  if (await linkExists(peer, spec.pid)) await inNs(spec.pid, ['link', 'del', peer]);
  for (const [file, ...args] of plumbCommands(spec)) await run(file, args);
}

/** Removes the host end (the pair goes with it); nothing to do when it is already gone. */
export async function unplumb(instanceId: string, hostId: string): Promise<void> {
  const { host, peer } = vethNames(instanceId, hostId);
  if (await linkExists(host)) await run('ip', ['link', 'del', host]).catch(async (err) => { if (await linkExists(host)) throw err; });
  if (await linkExists(peer)) await run('ip', ['link', 'del', peer]).catch(() => undefined);
}

export const hostVethExists = (instanceId: string, hostId: string): Promise<boolean> => linkExists(vethNames(instanceId, hostId).host);

/** The host end's alias names its host and instance: the hashed name cannot be read back, the alias can. */
export const vethAlias = (hostId: string, instanceId: string): string => `vcloud:${hostId}:${instanceId}`;

/** Instances of this host that have a veth pair on this kernel (read from the aliases). */
export async function plumbedInstances(hostId: string): Promise<Set<string>> {
  const links = JSON.parse(await run('ip', ['-j', 'link', 'show', 'type', 'veth'])) as { ifalias?: string }[];
  const prefix = vethAlias(hostId, '');
  return new Set(links.map((l) => l.ifalias ?? '').filter((a) => a.startsWith(prefix)).map((a) => a.slice(prefix.length)));
}

/** The IPv4 address on eth0 inside a container's network namespace, if any. */
export async function addressInside(pid: number): Promise<string | null> {
  if (!Number.isInteger(pid) || pid <= 1) return null;
  const out = await inNs(pid, ['-4', '-o', 'addr', 'show', 'dev', 'eth0']).catch(() => '');
  return /inet (\d+\.\d+\.\d+\.\d+)\//.exec(out)?.[1] ?? null;
}
