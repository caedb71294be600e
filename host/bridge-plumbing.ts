import crypto from 'node:crypto';
import { isIpv4 } from '../lib/net';
import { run, runWithInput } from './run';

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

/** One `ip -batch` line: the arguments are names, addresses and numbers, never anything ip would split or quote. */
function batchLine(args: string[]): string {
  for (const a of args) if (!/^[A-Za-z0-9_.:/-]+$/.test(a)) throw new Error(`bad argument for ip -batch: ${a}`);
  return args.join(' ');
}

/**
 * The pair made with four processes, not fifteen (each `ip` or `nsenter` costs a few milliseconds
 * to start, and a create waits for all of them): one look inside, one clean-up of an interrupted
 * attempt's leftovers, then plumbCommands' host side and namespace side as one `ip -batch` each.
 */
export async function plumb(spec: PlumbSpec): Promise<void> {
  validate(spec);
  const { host, peer } = vethNames(spec.instanceId, spec.hostId);
  const inside = JSON.parse(await inNs(spec.pid, ['-j', 'addr', 'show'])) as { ifname: string; addr_info?: { local: string; prefixlen: number }[] }[];
  const eth0 = inside.find((l) => l.ifname === 'eth0');
  if (eth0?.addr_info?.some((a) => a.local === spec.ip && a.prefixlen === spec.prefix) && (await linkExists(host))) return;
  // Leftovers of an interrupted attempt: start the pair again from nothing (-force: a link already gone is no error, exit 1).
  await runWithInput('ip', ['-force', '-batch', '-'], `${batchLine(['link', 'del', host])}\n${batchLine(['link', 'del', peer])}\n`, [0, 1]);
  const stale = inside.filter((l) => l.ifname === 'eth0' || l.ifname === peer).map((l) => batchLine(['link', 'del', l.ifname]));
  if (stale.length) await runWithInput('nsenter', ['-t', String(spec.pid), '-n', 'ip', '-batch', '-'], `${stale.join('\n')}\n`);
  const commands = plumbCommands(spec);
  const hostSide = commands.filter(([file]) => file === 'ip').map(([, ...args]) => batchLine(args));
  const nsSide = commands.filter(([file]) => file === 'nsenter').map((c) => batchLine(c.slice(c.indexOf('ip') + 1)));
  await runWithInput('ip', ['-batch', '-'], `${hostSide.join('\n')}\n`);
  await runWithInput('nsenter', ['-t', String(spec.pid), '-n', 'ip', '-batch', '-'], `${nsSide.join('\n')}\n`);
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
