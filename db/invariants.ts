import type { Db } from './connection';
import { HOLDING_STATES, SETTLED_STATES } from '../lib/instance-states';
import type { EngineObject } from '../drivers/instance-driver';
import { sameUsage, usageAndClaims } from './placement';
import { appCountDrift } from './app-counts';

export interface HostView { hostId: string; objects?: EngineObject[]; error?: string }
export interface Violation { rule: string; detail: string }
export interface InvariantReport { ok: boolean; checkedHosts: string[]; uncheckedHosts: { hostId: string; why: string }[]; runningOperations: number; violations: Violation[] }

const sameSet = (a: number[], b: number[]) => a.length === b.length && [...a].sort().join() === [...b].sort().join();

/**
 * The promises of the platform, checked against the database and what each live host's engines
 * really hold (`hosts`, from their agents): every operation ended (with `settled`), no address held
 * twice or on the wire from two places, every live instance's copy present with its limits and
 * address, no copy without a live instance, the hosts' used capacity equal to their claims, and the
 * app counts placement reads equal to the instances they count.
 */
export async function evaluateInvariants(db: Db, hosts: HostView[], settled: boolean): Promise<InvariantReport> {
  const violations: Violation[] = [];
  const flag = (rule: string, detail: string) => violations.push({ rule, detail });

  const running = await db('operations').where({ state: 'running' }).select('id', 'type', 'workflow_id', 'instance_id');
  if (settled) for (const op of running) flag('operations end', `${op.type} ${op.id} (${op.workflow_id}) is still running`);
  // An instance in the middle of an operation may differ from its engine for a moment.
  const busy = new Set(running.map((op) => op.instance_id).filter(Boolean));

  const instances = await db('instances').whereIn('state', HOLDING_STATES)
    .select('id', 'name', 'kind', 'state', 'host_id', 'target_host_id', 'ip', 'cpuset', 'memory_mb');
  const byId = new Map(instances.map((i) => [i.id as string, i]));
  const allocated = await db('ip_addresses').where({ state: 'allocated' }).select('address', 'instance_id');
  for (const a of allocated) {
    const owner = byId.get(a.instance_id);
    if (!owner) flag('one address, one live owner', `${a.address} is allocated to ${a.instance_id}, which holds nothing`);
    else if (owner.ip !== a.address) flag('one address, one live owner', `${a.address} is allocated to ${owner.id}, whose address is ${owner.ip}`);
  }
  const allocatedTo = new Map(allocated.map((a) => [a.instance_id as string, a.address as string]));
  const ips = new Map<string, string>();
  for (const i of instances) {
    if (!i.ip) continue;
    if (allocatedTo.get(i.id) !== i.ip) flag('one address, one live owner', `${i.id} has ${i.ip}, which is not allocated to it`);
    if (ips.has(i.ip)) flag('one address, one live owner', `${i.ip} is held by ${ips.get(i.ip)} and ${i.id}`);
    ips.set(i.ip, i.id);
  }

  const checkedHosts: string[] = [];
  const uncheckedHosts: { hostId: string; why: string }[] = [];
  const onWire = new Map<string, string>();
  for (const h of hosts) {
    if (!h.objects) { uncheckedHosts.push({ hostId: h.hostId, why: h.error ?? 'no inventory' }); continue; }
    checkedHosts.push(h.hostId);
    const found = new Map<string, EngineObject>();
    for (const o of h.objects) {
      const i = byId.get(o.instanceId);
      if (!i || (i.host_id !== h.hostId && i.target_host_id !== h.hostId)) {
        flag('no copy without a live instance', `host ${h.hostId} has a ${o.kind} copy (${o.state}) of ${o.instanceId}, which does not live there`);
        continue;
      }
      if (o.kind === i.kind && o.state !== 'absent') found.set(o.instanceId, o);
      if ((o.state === 'running' || o.state === 'paused') && o.detail?.ip) {
        const where = `${o.instanceId} on ${h.hostId}`;
        if (onWire.has(o.detail.ip)) flag('no address from two places', `${o.detail.ip} is up on ${onWire.get(o.detail.ip)} and ${where}`);
        onWire.set(o.detail.ip, where);
      }
    }
    for (const i of instances) {
      if (i.host_id !== h.hostId || !(SETTLED_STATES as readonly string[]).includes(i.state) || busy.has(i.id)) continue;
      const o = found.get(i.id);
      if (!o) { flag('every live instance has its copy', `${i.id} (${i.name}) is ${i.state} on ${h.hostId}, which has no copy of it`); continue; }
      if (o.state !== i.state) flag('every live instance has its copy', `${i.id} is ${i.state}, its copy on ${h.hostId} is ${o.state}`);
      if (o.detail && !sameSet(o.detail.cpuset, i.cpuset ?? [])) flag('limits as placed', `${i.id} is pinned to ${o.detail.cpuset} on the engine, ${i.cpuset} in the database`);
      if (o.detail && o.detail.memoryMb !== i.memory_mb) flag('limits as placed', `${i.id} has ${o.detail.memoryMb} MB on the engine, ${i.memory_mb} MB in the database`);
      if (i.state === 'running' && o.detail && o.detail.ip !== i.ip) flag('every live instance has its address', `${i.id} should answer at ${i.ip}, its copy has ${o.detail.ip}`);
    }
  }

  for (const h of await usageAndClaims(db)) {
    if (sameUsage(h.used, h.claims)) continue;
    const u = (x: typeof h.used) => `${x.vcpus} vCPUs/${x.memoryMb} MB/${x.diskGb} GB`;
    flag('used capacity equals the claims', `host ${h.hostId} counts ${u(h.used)}, its claims are ${u(h.claims)}`);
  }
  for (const drift of await appCountDrift(db)) flag('the app counts equal the instances', drift);
  return { ok: violations.length === 0, checkedHosts, uncheckedHosts, runningOperations: running.length, violations };
}
