import { Context } from '@temporalio/activity';
import type { OpRef, Outcome } from '../../db/operations';
import { ACTIONS, MOVABLE_STATES, type Action, type InstanceState, type RepairTarget, type SettledState } from '../../lib/instance-states';
import { RunSupersededError, StateConflictError, CapacityError, ConflictError } from '../../lib/errors';
import { PermanentDriverError } from '../../drivers/instance-driver';

/**
 * A test double of the database and the hosts behind the same activity names the workflows call:
 * a small model with the same rules (compare-and-set states, runs owning operations, what holds an
 * address and capacity), so the fast workflow tests can drive every branch in milliseconds and
 * check that each ends consistent.
 */
export interface Inst {
  id: string; kind: 'docker' | 'kvm'; state: InstanceState; host: string | null; held: boolean; ip: string | null;
  target: string | null; targetHeld: boolean; repairTo: RepairTarget | null; failure: string | null;
  /** Memory, the one size the model tracks; `resize` while a resize holds both sizes (or a repair must conform the copy). */
  memoryMb?: number; resize?: { from: number; to: number } | null;
}
export interface Op {
  id: string; type: string; instanceId: string | null; hostId: string | null; imageId: string | null;
  state: string; runId: string | null; prior: string | null; error?: string; result?: unknown;
}
/** Where a fault lands: a call's index, every call of an activity, or an activity's nth call (0-based). */
export type FaultAt = number | string | { name: string; nth: number };
/** business: fails at once, not retried; infra: fails `times` times (default 2), then works; block: waits until cancelled. */
export type Fault = 'business' | 'infra' | 'block';

let seq = 0;
/** What a planned fault throws: a host step's or a control step's business refusal, or an infrastructure error. */
const faultError = (fault: 'business' | 'infra', name: string, hostSide: boolean): Error => {
  if (fault === 'infra') return new Error(`${name}: connection refused`);
  return hostSide ? new PermanentDriverError(`${name} refused`) : new CapacityError(`${name} refused`);
};
const uid = (p: string) => `${p}-${++seq}`;

export class FakeWorld {
  inst = new Map<string, Inst>();
  ops = new Map<string, Op>();
  /** `host:instance` -> state of the copy on that host. */
  copies = new Map<string, 'running' | 'stopped' | 'paused'>();
  /** `host:instance` -> the copy's memory, once a resize set it (64 before). */
  copySize = new Map<string, number>();
  frozen = new Set<string>();
  snapshots = new Map<string, { instanceId: string; state: string }>();
  /** Snapshot ids whose data a move's source step stored (in the registry or the image store). */
  snapshotData = new Set<string>();
  stale = new Set<string>();
  hostState = new Map<string, string>([['h1', 'enabled'], ['h2', 'enabled'], ['h4', 'enabled']]);
  fencedHosts = new Set<string>();
  movedFrom = new Map<string, string[]>();
  images = new Map<string, string>();
  /** Calls concerning each instance (or image), in order, every attempt. */
  calls = new Map<string, string[]>();
  /** The distinct calls (an attempt again, or a local activity run again, is one step): what a fault targets by occurrence. */
  steps = new Map<string, string[]>();
  private faults = new Map<string, { at: FaultAt; fault: Fault; left: number }[]>();
  /** Per subject, each distinct call (activity, run, activity id) and its occurrence among its activity's calls. */
  private seen = new Map<string, Map<string, number>>();
  private nextIp = 10;
  /** Called as an evacuation writes a child migration's operation, before it starts the child. */
  childMade?: (child: { operationId: string; workflowId: string; instanceId: string; input: object }) => Promise<void>;
  /** Instances whose k-th call reached a `block` fault. */
  blocked = new Map<string, string>();

  addInstance(state: InstanceState, extra: Partial<Inst> = {}): Inst {
    const i: Inst = { id: uid('i'), kind: 'docker', state, host: null, held: false, ip: null, target: null, targetHeld: false, repairTo: null, failure: null, ...extra };
    this.inst.set(i.id, i);
    return i;
  }
  addOp(type: string, subject: { instanceId?: string; hostId?: string; imageId?: string }, prior: string | null = null): Op {
    const o: Op = {
      id: uid('op'), type, instanceId: subject.instanceId ?? null, hostId: subject.hostId ?? null, imageId: subject.imageId ?? null,
      state: 'running', runId: null, prior,
    };
    this.ops.set(o.id, o);
    return o;
  }
  /** A running instance with its copy on `host`. */
  placed(state: SettledState, host = 'h1'): Inst {
    const i = this.addInstance(state, { host, held: true, ip: `10.0.0.${this.nextIp++}` });
    this.copies.set(`${host}:${i.id}`, state);
    return i;
  }
  /**
   * The k-th call concerning `subject` (0-based), every call of the activity named `at`, or the
   * nth call of one activity (`{ name, nth }`), gets `fault`. The last is what a test that fails
   * each step of a run in turn wants: a local activity that ran twice (its workflow task timed out
   * under load and was retried) shifts every later call's index, never another activity's count.
   */
  faultAt(subject: string, at: FaultAt, fault: Fault, times = fault === 'infra' ? 2 : Infinity): void {
    this.faults.set(subject, [...(this.faults.get(subject) ?? []), { at, fault, left: times }]);
  }
  clearFaults(subject: string): void {
    this.faults.delete(subject);
  }
  /**
   * A point inside a step that does several things (`provisionCreate:allocate`): a `business` or
   * `infra` fault planned at that name lands there, after what the step did before it.
   */
  point(subject: string, name: string): void {
    const f = (this.faults.get(subject) ?? []).find((x) => x.left > 0 && x.at === name);
    if (!f) return;
    f.left--;
    throw faultError(f.fault === 'infra' ? 'infra' : 'business', name, name.startsWith('host.'));
  }
  /** Where placement puts an instance (h1 unless told). */
  placeOn = new Map<string, string>();
  plannedBlock(subject: string): boolean {
    return (this.faults.get(subject) ?? []).some((f) => f.fault === 'block');
  }
  copiesOf(id: string): string[] {
    return [...this.copies.keys()].filter((k) => k.endsWith(`:${id}`)).map((k) => k.split(':')[0]);
  }

  private subjectOf(args: unknown[]): string | null {
    for (const a of args) {
      if (typeof a === 'string' && (this.inst.has(a) || this.images.has(a))) return a;
      const o = a as { operationId?: string; instanceId?: string } | null;
      if (o?.instanceId && this.inst.has(o.instanceId)) return o.instanceId;
      if (o?.operationId) {
        const op = this.ops.get(o.operationId);
        if (op?.instanceId) return op.instanceId;
        if (op?.imageId) return op.imageId;
        if (op?.hostId) return op.hostId;
      }
    }
    return null;
  }

  /** Wraps every activity: records the call, and applies a fault planned at this call. */
  private wrap<T extends Record<string, (...a: any[]) => Promise<unknown>>>(prefix: string, acts: T): T {
    return Object.fromEntries(Object.entries(acts).map(([name, fn]) => [name, async (...args: unknown[]) => {
      const subject = this.subjectOf(args);
      if (subject) {
        const list = this.calls.get(subject) ?? [];
        const call = `${prefix}${name}`;
        // A call is its run and its activity id (the workflow's sequence number): a local activity run again
        // because its workflow task timed out under load is the same call, not the next one of its name.
        const info = Context.current().info;
        const seen = this.seen.get(subject) ?? new Map<string, number>();
        this.seen.set(subject, seen);
        const key = `${call}|${info.workflowExecution?.runId ?? ''}|${info.activityId}`;
        let nth = seen.get(key);
        if (nth === undefined) {
          nth = [...seen.keys()].filter((k) => k.startsWith(`${call}|`)).length;
          seen.set(key, nth);
          this.steps.set(subject, [...(this.steps.get(subject) ?? []), call]);
        }
        list.push(call);
        this.calls.set(subject, list);
        const hits = (at: FaultAt) => (typeof at === 'object' ? at.name === call && at.nth === nth : at === list.length - 1 || at === call);
        const f = (this.faults.get(subject) ?? []).find((x) => x.left > 0 && hits(x.at));
        if (f) {
          f.left--;
          if (f.fault === 'business') throw faultError('business', name, prefix !== '');
          if (f.fault === 'infra') {
            // Its retry is the same call again (the same activity id); by index, the next one.
            if (typeof f.at === 'number') f.at++;
            throw faultError('infra', name, prefix !== '');
          }
          this.blocked.set(subject, `${prefix}${name}`);
          const ctx = Context.current();
          for (;;) {
            ctx.heartbeat();
            await Promise.race([ctx.cancelled, new Promise((r) => setTimeout(r, 100))]);
          }
        }
      }
      return fn(...args);
    }])) as T;
  }

  private must(id: string): Inst {
    const i = this.inst.get(id);
    if (!i) throw new StateConflictError(`instance ${id} does not exist`);
    return i;
  }
  /** As db/operations.ts succeededBy: the operation was closed as succeeded by this very run. */
  private succeededBy(op: OpRef): boolean {
    const o = this.ops.get(op.operationId);
    return o?.state === 'succeeded' && o.runId === op.runId;
  }
  private assertRun(op: OpRef): Op {
    const o = this.ops.get(op.operationId);
    if (!o || o.state !== 'running' || o.runId !== op.runId) throw new RunSupersededError(`operation ${op.operationId} is not this run's`);
    return o;
  }
  private claim(op: OpRef): { o: Op; reopened: boolean } {
    const o = this.ops.get(op.operationId)!;
    const reopened = o.state !== 'running';
    o.state = 'running'; o.runId = op.runId;
    return { o, reopened };
  }
  private move(i: Inst, to: InstanceState, from: readonly InstanceState[], extra: { failure?: string | null; repairTo?: RepairTarget } = {}): 'moved' | 'already' {
    if (from.includes(i.state)) {
      i.state = to; i.failure = extra.failure ?? null; i.repairTo = to === 'repairing' ? (extra.repairTo ?? 'failed') : null;
      return 'moved';
    }
    if (i.state === to) return 'already';
    throw new StateConflictError(`instance ${i.id} is ${i.state}: it cannot become ${to}`);
  }
  private release(i: Inst) { i.ip = null; i.held = false; }
  private spec(i: Inst, on: 'home' | 'target' = 'home') {
    const hostId = on === 'target' ? i.target : i.host;
    return { instanceId: i.id, kind: i.kind, hostname: i.id, hostId, image: { id: 'img', kind: 'docker', location: 'r/x', digest: null, boot: null },
      vcpus: 1, memoryMb: (on === 'target' ? i.resize?.to : undefined) ?? i.memoryMb ?? 64, diskGb: 1, cpuset: [0], network: { bridge: 'b', ip: i.ip ?? '', prefix: 24, gateway: '10.0.0.1', mac: '' }, restore: null };
  }

  controlActivities() {
    const w = this; // eslint-disable-line @typescript-eslint/no-this-alias -- the activities are plain functions over this world
    return this.wrap('', {
      async beginCreate(op: OpRef, id: string, reopened: boolean) {
        w.assertRun(op); const i = w.must(id);
        if (i.state === 'running') return { done: true, hostId: i.host, ip: i.ip };
        w.move(i, 'provisioning', reopened ? ['pending', 'provisioning', 'failed'] : ['pending', 'provisioning']);
        return { done: false, hostId: null, ip: null };
      },
      async provisionCreate(op: OpRef, id: string, reopened: boolean) {
        w.assertRun(op); const i = w.must(id);
        if (i.state === 'running') return { done: true, hostId: i.host, ip: i.ip };
        w.move(i, 'provisioning', reopened ? ['pending', 'provisioning', 'failed'] : ['pending', 'provisioning']);
        if (!i.held) { i.host = w.placeOn.get(id) ?? 'h1'; i.held = true; }
        w.point(id, 'provisionCreate:allocate');
        i.ip ??= `10.0.0.${w.nextIp++}`;
        return { done: false, hostId: i.host!, ip: i.ip, spec: w.spec(i) };
      },
      async completeCreate(op: OpRef, id: string, result: unknown) {
        if (w.succeededBy(op)) return;
        const o = w.assertRun(op);
        w.move(w.must(id), 'running', ['provisioning']);
        Object.assign(o, { state: 'succeeded', result });
      },
      async releaseCreateHoldings(op: OpRef, id: string) {
        w.assertRun(op); const i = w.must(id);
        if (i.state === 'pending' || i.state === 'provisioning') w.release(i);
      },
      async placeInstance(op: OpRef, id: string) { w.assertRun(op); const i = w.must(id); if (!i.held) { i.host = w.placeOn.get(id) ?? 'h1'; i.held = true; } return { hostId: i.host!, cpuset: [0] }; },
      async releaseHostCapacity(op: OpRef, id: string) { w.assertRun(op); w.must(id).held = false; },
      async allocateIp(op: OpRef, id: string) { w.assertRun(op); const i = w.must(id); i.ip ??= `10.0.0.${w.nextIp++}`; return { ip: i.ip, mac: '', hostname: id }; },
      async releaseIp(op: OpRef, id: string) { w.assertRun(op); w.must(id).ip = null; },
      async instanceSpec(op: OpRef, id: string, on: 'home' | 'target' = 'home') { w.assertRun(op); return w.spec(w.must(id), on); },
      async guard(op: OpRef) { w.assertRun(op); },
      async settleInstance(op: OpRef, id: string, to: InstanceState, t: { from?: InstanceState[]; failure?: string | null; repairTo?: RepairTarget; onlyIfOwned?: boolean } = {}) {
        w.assertRun(op);
        try { return w.move(w.must(id), to, t.from ?? [w.must(id).state], t); } catch (err) { if (t.onlyIfOwned) return 'left'; throw err; }
      },
      async repairInPlace(op: OpRef, id: string, failure: string) {
        w.assertRun(op); const i = w.must(id);
        if (['running', 'stopped', 'paused'].includes(i.state)) w.move(i, 'repairing', [i.state], { failure, repairTo: i.state as SettledState });
      },
      async finishOperation(op: OpRef, outcome: Outcome) {
        const o = w.ops.get(op.operationId)!;
        if (o.runId !== op.runId) throw new RunSupersededError('another run');
        if (o.state === 'running') Object.assign(o, { state: outcome.state, error: outcome.error, result: outcome.result });
      },
      async recordProgress(op: OpRef) { w.assertRun(op); },
      async beginResize(op: OpRef, id: string) {
        w.assertRun(op); const i = w.must(id);
        if (i.state !== 'resizing' || !i.resize) return { done: true as const };
        const size = (memoryMb: number) => ({ vcpus: 1, memoryMb, diskGb: 1, cpuset: [0] });
        return { done: false as const, from: size(i.resize.from), to: size(i.resize.to), spec: w.spec(i) };
      },
      async commitResize(op: OpRef, id: string, state: SettledState) {
        w.assertRun(op); const i = w.must(id);
        if (i.state !== 'resizing' || !i.resize) return;
        i.memoryMb = i.resize.to; i.resize = null; w.move(i, state, ['resizing']);
      },
      async undoResize(op: OpRef, id: string, state: SettledState) {
        w.assertRun(op); const i = w.must(id);
        if (i.state !== 'resizing' || !i.resize) return;
        if (i.target) { w.stale.add(`${i.target}:${id}`); i.target = null; i.targetHeld = false; }
        i.memoryMb = i.resize.from; i.resize = null; w.move(i, state, ['resizing']);
      },
      async commitResizeMove(op: OpRef, id: string, state: SettledState) {
        w.assertRun(op); const i = w.must(id);
        if (i.state !== 'resizing' || !i.resize) return;
        if (!i.target) throw new StateConflictError('no target claim to commit');
        const source = i.host;
        i.host = i.target; i.held = i.targetHeld; i.target = null; i.targetHeld = false;
        w.stale.delete(`${i.host}:${id}`);
        if (source && source !== i.host) w.stale.add(`${source}:${id}`);
        i.memoryMb = i.resize.to; i.resize = null; w.move(i, state, ['resizing']);
      },
      async abandonResize(op: OpRef, id: string, state: SettledState, failure: string) {
        w.assertRun(op); const i = w.must(id);
        if (i.state !== 'resizing' || !i.resize) return;
        i.memoryMb = i.resize.from; w.move(i, 'repairing', ['resizing'], { failure, repairTo: state });
      },
      async beginOperation(op: OpRef) {
        if (w.succeededBy(op)) return { reopened: false, finished: { result: w.ops.get(op.operationId)!.result } };
        return { reopened: w.claim(op).reopened };
      },
      async beginDelete(op: OpRef, id: string, reopened: boolean) {
        const o = w.assertRun(op); const i = w.must(id);
        if (i.state === 'deleted') return { done: true, priorState: o.prior };
        w.move(i, 'deleting', reopened ? ['running', 'stopped', 'paused', 'failed', 'deleting'] : ['deleting']);
        return { done: false, priorState: o.prior };
      },
      async deleteSnapshotsOf(op: OpRef, id: string) { w.assertRun(op); for (const s of w.snapshots.values()) if (s.instanceId === id) s.state = 'deleted'; return 0; },
      async finishDelete(op: OpRef, id: string) { w.assertRun(op); const i = w.must(id); w.release(i); w.move(i, 'deleted', ['deleting']); },
      async beginAction(op: OpRef, id: string, action: Action) {
        w.assertRun(op); const i = w.must(id); const { from, to } = ACTIONS[action];
        if ((from as readonly string[]).includes(i.state)) return { done: false };
        if (i.state === to) return { done: true };
        throw new StateConflictError(`cannot ${action}`);
      },
      async beginSnapshot(op: OpRef, id: string, snapshotId: string) {
        w.assertRun(op); const i = w.must(id);
        if (!MOVABLE_STATES.includes(i.state)) throw new StateConflictError('not movable');
        if (w.snapshots.get(snapshotId)?.state !== 'ready') w.snapshots.set(snapshotId, { instanceId: id, state: 'pending' });
      },
      async createSnapshotRow(op: OpRef, id: string, snapshotId: string) { w.assertRun(op); w.snapshots.set(snapshotId, { instanceId: id, state: 'pending' }); },
      async markSnapshotReady(op: OpRef, snapshotId: string) { w.assertRun(op); w.snapshots.get(snapshotId)!.state = 'ready'; },
      async markSnapshotFailed(op: OpRef, snapshotId: string) { w.assertRun(op); const s = w.snapshots.get(snapshotId); if (s && s.state !== 'ready') s.state = 'failed'; },
      async discardSnapshot(op: OpRef, snapshotId: string) { w.assertRun(op); if (w.snapshots.get(snapshotId)?.state !== 'ready') w.snapshotData.delete(snapshotId); },
      async latestSnapshot(op: OpRef, id: string) {
        w.assertRun(op);
        const ready = [...w.snapshots.entries()].filter(([, s]) => s.instanceId === id && s.state === 'ready');
        return ready.length ? { snapshotId: ready[ready.length - 1][0], location: 'l', digest: 'd' } : null;
      },
      async snapshotRestore(op: OpRef, snapshotId: string) { w.assertRun(op); return { snapshotId, location: 'l', digest: 'd' }; },
      async beginMigrate(op: OpRef, id: string) {
        const o = w.assertRun(op); const i = w.must(id);
        const prior = (o.prior ?? i.state) as InstanceState;
        if (!MOVABLE_STATES.includes(prior)) throw new StateConflictError('not movable');
        w.move(i, 'migrating', [...MOVABLE_STATES, 'migrating']);
        o.prior = prior;
        return { sourceHostId: i.host, kind: i.kind, priorState: prior, committed: false };
      },
      async claimTarget(op: OpRef, id: string, pinned: string | null) {
        w.assertRun(op); const i = w.must(id);
        if (!i.target) {
          const to = pinned ?? ['h1', 'h2'].find((h) => h !== i.host && w.hostState.get(h) === 'enabled');
          if (!to) throw new CapacityError('no host in the zone');
          i.target = to; i.targetHeld = true;
        }
        return { hostId: i.target, cpuset: [1] };
      },
      async releaseTarget(op: OpRef, id: string) { w.assertRun(op); const i = w.must(id); i.target = null; i.targetHeld = false; },
      async clearStaleCopy(op: OpRef, id: string, host: string) { w.assertRun(op); w.stale.delete(`${host}:${id}`); },
      async commitMigration(op: OpRef, id: string, source: string | null, to: InstanceState) {
        w.assertRun(op); const i = w.must(id);
        if (i.state !== 'migrating') { if (i.state === to && !i.target) return; throw new StateConflictError('cannot commit'); }
        i.host = i.target; i.held = i.targetHeld; i.target = null; i.targetHeld = false;
        w.stale.delete(`${i.host}:${id}`);
        if (source && source !== i.host) w.stale.add(`${source}:${id}`);
        w.move(i, to, ['migrating']);
      },
      async hostAlive(hostId: string) { return w.hostState.get(hostId) !== 'dead'; },
      async hostFacts(hostId: string) {
        const dead = w.hostState.get(hostId) === 'dead';
        return { hostId, zoneId: 'z', state: 'enabled', heartbeatAgeSeconds: dead ? 999 : 1, lastHeartbeatAt: null, zonePeers: 2, zonePeersLive: 2,
          autoFailover: false, fenceCommand: null, fencedAt: null, fencedBy: null, fencedSinceHeard: false, deadAfterSeconds: 25, selfFenceSeconds: 15 };
      },
      async fenceHost(op: OpRef, hostId: string) {
        w.assertRun(op);
        if (!w.fencedHosts.has(hostId)) throw new ConflictError(`host ${hostId} is not fenced`);
        return { by: 'admin', detail: 'test' };
      },
      async repairsWaitingOn(op: OpRef) { w.assertRun(op); return []; },
      async enableHost(op: OpRef, hostId: string) { w.assertRun(op); w.hostState.set(hostId, 'enabled'); },
      async movedAway(op: OpRef, hostId: string) { w.assertRun(op); return w.movedFrom.get(hostId) ?? []; },
      async leaveCopyOnFencedHost(op: OpRef, id: string, hostId: string) { w.assertRun(op); w.stale.add(`${hostId}:${id}`); },
      async beginEvacuate(op: OpRef, hostId: string) { const o = w.assertRun(op); w.hostState.set(hostId, 'draining'); return { priorState: (o.prior ?? 'enabled') as 'enabled' }; },
      async instancesOnHost(op: OpRef, hostId: string) { w.assertRun(op); return [...w.inst.values()].filter((i) => i.host === hostId && MOVABLE_STATES.includes(i.state)).map((i) => i.id); },
      async beginChildMigration(op: OpRef, hostId: string | null, id: string, _by: string | null, input: { host?: string }) {
        w.assertRun(op); const i = w.inst.get(id);
        if (!i || (hostId !== null && i.host !== hostId)) return { skip: 'it is no longer on the host' };
        if (input.host && i.host === input.host) return { skip: 'it is already there' };
        if (!MOVABLE_STATES.includes(i.state)) return { skip: `it is ${i.state}` };
        const child = w.addOp('migrate', { instanceId: id }, i.state);
        const made = { operationId: child.id, workflowId: `${child.id}-wf` };
        await w.childMade?.({ ...made, instanceId: id, input });
        return made;
      },
      async operationOutcome(operationId: string) {
        const o = w.ops.get(operationId);
        return o ? { state: o.state, error: o.error ?? null, result: o.result ?? null } : { state: 'missing', error: 'no such operation', result: null };
      },
      async endEvacuation(op: OpRef, hostId: string, to: string) { w.assertRun(op); if (w.hostState.get(hostId) === 'draining') w.hostState.set(hostId, to); },
      async beginConvert(op: OpRef, imageId: string, reopened: boolean) { w.assertRun(op); if (reopened && w.images.get(imageId) === 'failed') w.images.set(imageId, 'pending'); },
      async planConversion(op: OpRef, _source: string, target: string) {
        w.assertRun(op);
        return { to: 'docker' as const, hostId: 'h1', sourceImageId: 's', sourceLocation: 'l', sourceDigest: null, targetRef: `r/${target}`, targetKey: `${target}.tgz` };
      },
      async markImageReady(op: OpRef, id: string) { w.assertRun(op); w.images.set(id, 'ready'); },
      async markImageFailed(op: OpRef, id: string) { w.assertRun(op); if (w.images.get(id) === 'pending') w.images.set(id, 'failed'); },
      async deleteRegistryImage(op: OpRef) { w.assertRun(op); },
      async beginRepair(op: OpRef, id: string) { w.assertRun(op); return { done: w.must(id).state !== 'repairing' }; },
      async repairPlan(op: OpRef, id: string) {
        w.assertRun(op); const i = w.must(id);
        if (i.state !== 'repairing') throw new StateConflictError('not repairing');
        return { kind: i.kind, homeHostId: i.host, targetHostId: i.target, repairTo: i.repairTo ?? 'failed', fenced: [...w.fencedHosts], ...(i.resize ? { conformSize: true } : {}) };
      },
      async giveUpRestoring(op: OpRef, id: string, why: string) { w.assertRun(op); const i = w.must(id); if (i.repairTo !== 'deleted') { i.repairTo = 'failed'; i.failure = why; } },
      async finishRepair(op: OpRef, id: string, planned: RepairTarget) {
        w.assertRun(op); const i = w.must(id);
        if (i.state !== 'repairing') return i.state;
        if (i.repairTo !== planned || i.target) return null;
        if (planned === 'failed' || planned === 'deleted') w.release(i);
        i.resize = null;
        w.move(i, planned, ['repairing']);
        return planned;
      },
    });
  }

  /** The probe queue of a host whose agent runs. */
  probeActivities(hostId: string) {
    return { probeHost: async () => ({ hostId, kinds: ['docker'], at: new Date().toISOString() }) };
  }

  hostActivities(hostId: string) {
    const w = this; // eslint-disable-line @typescript-eslint/no-this-alias -- the activities are plain functions over this world
    const key = (id: string) => `${hostId}:${id}`;
    return this.wrap('host.', {
      async buildInstance(spec: { instanceId: string; memoryMb: number }) {
        if (!w.copies.has(key(spec.instanceId))) {
          w.copies.set(key(spec.instanceId), 'stopped');
          w.copySize.set(key(spec.instanceId), spec.memoryMb);
        }
        w.point(spec.instanceId, 'host.buildInstance:startInstance');
        w.copies.set(key(spec.instanceId), 'running');
        w.point(spec.instanceId, 'host.buildInstance:plumbNetwork');
      },
      async buildCopy(spec: { instanceId: string; memoryMb: number }, running: boolean) {
        w.copies.delete(key(spec.instanceId));
        w.point(spec.instanceId, 'host.buildCopy:createInstance');
        w.copies.set(key(spec.instanceId), 'stopped');
        w.copySize.set(key(spec.instanceId), spec.memoryMb);
        if (!running) return;
        w.point(spec.instanceId, 'host.buildCopy:startInstance');
        w.copies.set(key(spec.instanceId), 'running');
        w.point(spec.instanceId, 'host.buildCopy:plumbNetwork');
      },
      async ensureImage() {},
      async createInstance(spec: { instanceId: string; memoryMb: number }) {
        if (w.copies.has(key(spec.instanceId))) return;
        w.copies.set(key(spec.instanceId), 'stopped');
        w.copySize.set(key(spec.instanceId), spec.memoryMb);
      },
      async startInstance(spec: { instanceId: string }) { w.copies.set(key(spec.instanceId), 'running'); },
      async plumbNetwork() {},
      async actOnInstance(spec: { instanceId: string }, action: Action) {
        const to = action === 'pause' ? 'paused' : action === 'stop' ? 'stopped' : 'running';
        if (!w.copies.has(key(spec.instanceId))) throw new PermanentDriverError('no copy');
        w.copies.set(key(spec.instanceId), to);
      },
      async stopInstance(spec: { instanceId: string }) { if (w.copies.has(key(spec.instanceId))) w.copies.set(key(spec.instanceId), 'stopped'); },
      async snapshotInstance(spec: { instanceId: string }, snapshotId: string) {
        w.frozen.add(key(spec.instanceId)); w.frozen.delete(key(spec.instanceId));
        return { location: `loc-${snapshotId}`, digest: 'sha256:x', consistency: 'filesystem' };
      },
      async snapshotAndStop(spec: { instanceId: string }, snapshotId: string | null) {
        // A snapshot that fails half way leaves the copy frozen, as a guest agent's freeze would.
        if (snapshotId) w.frozen.add(key(spec.instanceId));
        w.point(spec.instanceId, 'host.snapshotAndStop:snapshotInstance');
        if (snapshotId) w.snapshotData.add(snapshotId);
        w.frozen.delete(key(spec.instanceId));
        w.point(spec.instanceId, 'host.snapshotAndStop:stopInstance');
        if (w.copies.has(key(spec.instanceId))) w.copies.set(key(spec.instanceId), 'stopped');
        return snapshotId ? { location: `loc-${snapshotId}`, digest: 'sha256:x', consistency: 'filesystem' } : null;
      },
      async endSnapshot(spec: { instanceId: string }) { w.frozen.delete(key(spec.instanceId)); },
      async destroyInstance(spec: { instanceId: string }) { w.copies.delete(key(spec.instanceId)); },
      async convergeInstance(spec: { instanceId: string; memoryMb: number }, want: SettledState, conformSize = false) {
        if (!w.copies.has(key(spec.instanceId))) throw new PermanentDriverError('no copy to bring back');
        if (conformSize) w.copySize.set(key(spec.instanceId), spec.memoryMb);
        w.frozen.delete(key(spec.instanceId)); w.copies.set(key(spec.instanceId), want); return [want];
      },
      async resizeInstance(spec: { instanceId: string; memoryMb: number }, want: 'running' | 'stopped') {
        if (!w.copies.has(key(spec.instanceId))) throw new PermanentDriverError('no copy');
        w.copySize.set(key(spec.instanceId), spec.memoryMb); w.copies.set(key(spec.instanceId), want);
        return { diskGb: null };
      },
      async discardConvertOutput() {},
      async convertTgzToDocker(job: { targetRef: string }) { return { location: job.targetRef, digest: 'sha256:y', sizeBytes: null, boot: null }; },
      async convertDockerToTgz(job: { targetKey: string }) { return { location: job.targetKey, digest: 'sha256:z', sizeBytes: 1, boot: null }; },
    });
  }
}
