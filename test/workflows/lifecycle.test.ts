import path from 'node:path';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker, bundleWorkflowCode, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { WorkflowFailedError, type WorkflowHandle, type WorkflowStartOptions } from '@temporalio/client';
import { CancelledFailure } from '@temporalio/common';
import type { Workflow } from '@temporalio/common';
import { projectRoot } from '../../lib/config';
import { FakeWorld, type Fault, type Inst } from '../helpers/fake-world';
import { quietRuntime } from '../helpers/replay';
import { VcHostId, VcInstanceId, VcOperation, VcZone } from '../../workflows/search-attributes';
import {
  convertImage, createInstance, deleteInstance, evacuateHost, instanceAction, migrateInstance, repairInstance, resizeInstance, snapshotInstance,
} from '../../workflows';

// Fast workflow tests: the real workflow code on a real (local, throwaway) Temporal server, the
// activities replaced by a model of the database and the hosts (FakeWorld). Every step of every
// operation is made to fail, and to be cancelled while it runs; each run must end with its
// operation closed and the world consistent.
const TEMPORAL = path.join(projectRoot, '.tools', 'bin', 'temporal');
const CONTROL = 'lifecycle-control';

let env: TestWorkflowEnvironment;
let bundle: WorkflowBundleWithSourceMap;
const world = new FakeWorld();
const workers: Worker[] = [];
const running: Promise<void>[] = [];
let n = 0;

beforeAll(async () => {
  quietRuntime();
  env = await TestWorkflowEnvironment.createLocal({
    server: { executable: { type: 'existing-path', path: TEMPORAL }, searchAttributes: [VcInstanceId, VcHostId, VcZone, VcOperation] },
  });
  bundle = await bundleWorkflowCode({ workflowsPath: require.resolve('../../workflows'), logger: { info() {}, warn() {}, error() {}, debug() {}, trace() {}, log() {} } as any });
  // Heartbeats reach the server at once, so a cancelled step learns it at once.
  const make = (taskQueue: string, activities: object, withWorkflows = false) => Worker.create({
    connection: env.nativeConnection, taskQueue, activities, maxHeartbeatThrottleInterval: '100 milliseconds',
    ...(withWorkflows ? { workflowBundle: bundle } : {}),
  });
  workers.push(await make(CONTROL, world.controlActivities(), true));
  // Host h3 has no agent: its steps are never taken (a dead host). h4 is the one the evacuation test empties.
  for (const h of ['h1', 'h2', 'h4']) {
    workers.push(await make(`host-${h}`, world.hostActivities(h)));
    workers.push(await make(`host-${h}-probe`, world.probeActivities(h)));
  }
  for (const w of workers) running.push(w.run());
}, 120_000);

afterAll(async () => {
  for (const w of workers) w.shutdown();
  await Promise.all(running);
  await env?.teardown();
});

// A cancel reaches a workflow whose local activity (a control step) is still running only at its
// task's heartbeat, 80% of the task timeout: short here, where the test holds a step on purpose.
const start = <W extends Workflow>(wf: W, input: Parameters<W>[0]): Promise<WorkflowHandle<W>> =>
  env.client.workflow.start(wf, { taskQueue: CONTROL, workflowId: `wf-${++n}`, args: [input], workflowTaskTimeout: '1 second' } as unknown as WorkflowStartOptions<W>);

async function outcome(h: WorkflowHandle): Promise<'succeeded' | 'failed' | 'cancelled'> {
  try {
    await h.result();
    return 'succeeded';
  } catch (err) {
    if (err instanceof WorkflowFailedError && err.cause instanceof CancelledFailure) return 'cancelled';
    if (err instanceof WorkflowFailedError) return 'failed';
    throw err;
  }
}

async function until(what: string, check: () => boolean, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Starts the workflow; with a `block` fault, cancels it once the blocked step runs. */
async function drive<W extends Workflow>(wf: W, input: Parameters<W>[0], subject: string, fault?: Fault) {
  const h = await start(wf, input);
  if (fault === 'block') {
    await until(`a blocked step of ${subject}`, () => world.blocked.has(subject));
    await h.cancel();
  }
  return outcome(h);
}

/** What must hold of an instance whatever happened: nothing held without a state that holds it, no copy without an owner. */
function consistent(i: Inst): void {
  const copies = world.copiesOf(i.id);
  if (i.state === 'failed' || i.state === 'deleted') {
    expect({ id: i.id, ip: i.ip, held: i.held, target: i.target, copies }).toEqual({ id: i.id, ip: null, held: false, target: null, copies: [] });
  }
  if (i.state === 'running' || i.state === 'stopped' || i.state === 'paused') {
    expect({ target: i.target, held: i.held, copy: world.copies.get(`${i.host}:${i.id}`) }).toEqual({ target: null, held: true, copy: i.state });
    const elsewhere = copies.filter((h) => h !== i.host && !world.stale.has(`${h}:${i.id}`));
    expect(elsewhere).toEqual([]);
  }
  // Whatever still has a copy somewhere (not one recorded for destruction) holds its address.
  if (i.ip === null && i.state !== 'repairing') expect(copies.filter((h) => !world.stale.has(`${h}:${i.id}`))).toEqual([]);
  const owners = [...world.inst.values()].filter((o) => o.ip !== null && o.ip === i.ip);
  expect(owners.length).toBeLessThanOrEqual(1);
}

/** Runs a repair of a repairing instance to its end, as the reconciler would. */
async function repair(i: Inst) {
  const op = world.addOp('repair', { instanceId: i.id }, 'repairing');
  expect(await drive(repairInstance, { operationId: op.id, instanceId: i.id }, i.id)).toBe('succeeded');
  consistent(i);
}

interface Case {
  /** The step after which the operation's effect stands (a failure after it changes nothing but the operation's outcome). */
  commit: string;
  setup: () => { subject: string; inst?: Inst; op: { id: string } };
  run: (op: string, subject: string) => Promise<'succeeded' | 'failed' | 'cancelled'>;
  /** `done`: the operation's effect stands (it succeeded, or failed only after its commit). */
  check: (inst: Inst | undefined, done: boolean, subject: string) => void;
  /** Steps a cancel does not reach (they run to their end): failed there, never blocked. */
  uncancellable?: string[];
}

/** The happy path once (to count its steps), then a failure and a cancellation at each of its steps. */
async function everyStep(c: Case) {
  const happy = c.setup();
  expect(await c.run(happy.op.id, happy.subject)).toBe('succeeded');
  c.check(happy.inst, true, happy.subject);
  const steps = world.steps.get(happy.subject)!;
  const commit = steps.lastIndexOf(c.commit);
  expect(commit).toBeGreaterThan(0);
  expect(steps.length).toBeGreaterThan(3);
  // Taking the operation (step 0) cannot fail for a fresh operation but on infrastructure, which retries.
  const variants: { k: number; fault: Fault }[] = steps.flatMap((s, k) => (s === 'beginOperation' ? []
    : c.uncancellable?.includes(s) ? [{ k, fault: 'business' as const }] : [{ k, fault: 'business' as const }, { k, fault: 'block' as const }]));
  // Six at a time: with more, a loaded machine lets a 1 s workflow task time out, and the step that
  // ran in the lost attempt runs again as the next call of its activity, which has no fault.
  for (let i = 0; i < variants.length; i += 6) {
    await Promise.all(variants.slice(i, i + 6).map(async ({ k, fault }) => {
      const s = c.setup();
      // The step by its activity and its occurrence among that activity's calls: a local activity
      // run twice under load (its workflow task retried) would shift a bare index onto another step.
      world.faultAt(s.subject, { name: steps[k], nth: steps.slice(0, k).filter((x) => x === steps[k]).length }, fault);
      const out = await c.run(s.op.id, s.subject);
      // After the commit, a step that only tidies up (a migrated instance's source copy) may fail without failing the operation.
      const expected = fault === 'block' ? 'cancelled' : k > commit ? expect.stringMatching(/^(failed|succeeded)$/) : 'failed';
      expect([steps[k], fault, out]).toEqual([steps[k], fault, expected]);
      expect([steps[k], fault, world.ops.get(s.op.id)!.state]).toEqual([steps[k], fault, out]);
      c.check(s.inst, k > commit, s.subject);
    }));
  }
  return steps;
}

describe('every operation ends consistent, whatever step fails or is cancelled', () => {
  test('create: failed or cancelled at any step, the instance is failed with no address, no capacity, no copy', async () => {
    const steps = await everyStep({
      commit: 'completeCreate',
      uncancellable: ['completeCreate'],
      setup: () => { const inst = world.addInstance('pending'); return { inst, subject: inst.id, op: world.addOp('create', { instanceId: inst.id }, 'pending') }; },
      run: (op, id) => drive(createInstance, { instanceId: id, operationId: op }, id, undefinedFault(id)),
      check: (i, done) => {
        expect(i!.state).toBe(done ? 'running' : 'failed');
        consistent(i!);
      },
    });
    expect(steps).toEqual(['beginOperation', 'provisionCreate', 'host.buildInstance', 'completeCreate']);
  });

  test('create: an undo that cannot destroy the copy keeps the address and capacity until a repair destroys it', async () => {
    const inst = world.addInstance('pending');
    const op = world.addOp('create', { instanceId: inst.id }, 'pending');
    world.faultAt(inst.id, 'host.buildInstance:plumbNetwork', 'business');
    world.faultAt(inst.id, 'host.destroyInstance', 'business');
    expect(await drive(createInstance, { instanceId: inst.id, operationId: op.id }, inst.id)).toBe('failed');
    expect(world.ops.get(op.id)!.error).toMatch(/undoing "destroy on the host" failed/);
    expect(inst).toMatchObject({ state: 'repairing', repairTo: 'failed', held: true });
    expect(inst.ip).not.toBeNull();
    expect(world.copiesOf(inst.id)).toEqual(['h1']);
    world.clearFaults(inst.id);
    await repair(inst);
    expect(inst.state).toBe('failed');
  });

  test('create: a cancel that comes while the create completes does not undo it, nor one after a commit whose workflow task was lost', async () => {
    // One failed attempt: the step is retried after a backoff in its workflow task, and the cancel lands
    // meanwhile. Three: the retries outlast the 1 s workflow task, which times out after the commit, and
    // the next task, which has the cancel, finds the operation closed by this very run.
    for (const failures of [1, 3]) {
      const inst = world.addInstance('pending');
      const op = world.addOp('create', { instanceId: inst.id }, 'pending');
      world.faultAt(inst.id, 'completeCreate', 'infra', failures);
      const h = await start(createInstance, { instanceId: inst.id, operationId: op.id });
      await until('the create to complete', () => (world.calls.get(inst.id) ?? []).includes('completeCreate'));
      await h.cancel();
      expect([failures, await outcome(h)]).toEqual([failures, 'succeeded']);
      expect([failures, world.ops.get(op.id)!.state]).toEqual([failures, 'succeeded']);
      expect(inst).toMatchObject({ state: 'running', held: true });
      expect(inst.ip).not.toBeNull();
      expect([failures, world.copiesOf(inst.id)]).toEqual([failures, ['h1']]);
      consistent(inst);
    }
  });

  test('create: a control step that keeps failing retries (locally, then as an ordinary activity) and the create succeeds', async () => {
    const inst = world.addInstance('pending');
    const op = world.addOp('create', { instanceId: inst.id }, 'pending');
    world.faultAt(inst.id, 'provisionCreate', 'infra', 7);
    expect(await drive(createInstance, { instanceId: inst.id, operationId: op.id }, inst.id)).toBe('succeeded');
    expect(world.calls.get(inst.id)!.filter((c) => c === 'provisionCreate').length).toBe(8);
    consistent(inst);
  }, 60_000);

  test('create: a failure inside a step that does several things (after the placement, after the copy is made) ends failed with nothing held', async () => {
    for (const point of ['provisionCreate:allocate', 'host.buildInstance:startInstance', 'host.buildInstance:plumbNetwork']) {
      const inst = world.addInstance('pending');
      const op = world.addOp('create', { instanceId: inst.id }, 'pending');
      world.faultAt(inst.id, point, 'business');
      expect([point, await drive(createInstance, { instanceId: inst.id, operationId: op.id }, inst.id)]).toEqual([point, 'failed']);
      expect([point, inst]).toEqual([point, expect.objectContaining({ state: 'failed', ip: null, held: false })]);
      expect(world.copiesOf(inst.id)).toEqual([]);
      consistent(inst);
    }
  });

  test('create on a host whose agent is gone: failed, and the copy it may have left is a repair\'s (address held)', async () => {
    const inst = world.addInstance('pending');
    const op = world.addOp('create', { instanceId: inst.id }, 'pending');
    // Placement answers h3, whose queue nobody serves.
    world.placeOn.set(inst.id, 'h3');
    expect(await drive(createInstance, { instanceId: inst.id, operationId: op.id, hostScheduleToStartSeconds: 1 }, inst.id)).toBe('failed');
    expect(world.ops.get(op.id)!.error).toMatch(/undoing "destroy on the host" failed/);
    expect(inst).toMatchObject({ state: 'repairing', repairTo: 'failed', held: true });
  });

  test('delete: failed or cancelled at any step, the instance is deleted or repairing to deleted with its address held; the repair ends it', async () => {
    await everyStep({
      commit: 'finishDelete',
      setup: () => {
        const inst = world.placed('running');
        inst.state = 'deleting';
        return { inst, subject: inst.id, op: world.addOp('delete', { instanceId: inst.id }, 'running') };
      },
      run: (op, id) => drive(deleteInstance, { instanceId: id, operationId: op }, id, undefinedFault(id)),
      check: (i, done) => {
        if (done) expect(i!.state).toBe('deleted');
        else expect(i!).toMatchObject({ state: 'repairing', repairTo: 'deleted' });
        consistent(i!);
      },
    });
    for (const i of world.inst.values()) if (i.state === 'repairing' && i.repairTo === 'deleted') await repair(i);
  });

  test('actions: failed or cancelled at any step, the state is the one before', async () => {
    await everyStep({
      commit: 'settleInstance',
      setup: () => { const inst = world.placed('running'); return { inst, subject: inst.id, op: world.addOp('stop', { instanceId: inst.id }, 'running') }; },
      run: (op, id) => drive(instanceAction, { operationId: op, instanceId: id, action: 'stop', from: 'running' }, id, undefinedFault(id)),
      check: (i, done) => {
        expect(i!.state).toBe(done ? 'stopped' : 'running');
        if (done) consistent(i!);
      },
    });
  });

  test('resize: failed or cancelled at any step, the instance is running at the size the database says, on the engine too', async () => {
    await everyStep({
      commit: 'commitResize',
      setup: () => {
        const inst = world.placed('running');
        Object.assign(inst, { state: 'resizing', memoryMb: 128, resize: { from: 64, to: 128 } });
        return { inst, subject: inst.id, op: world.addOp('resize', { instanceId: inst.id }, 'running') };
      },
      run: (op, id) => drive(resizeInstance, { operationId: op, instanceId: id, plan: 'live', prior: 'running' }, id, undefinedFault(id)),
      check: (i, done) => {
        // An undo the host refused leaves a repair, which conforms the copy to the old size.
        if (i!.state === 'repairing') {
          expect(i!.resize).toEqual({ from: 64, to: 128 });
          return;
        }
        expect({ state: i!.state, memoryMb: i!.memoryMb, resize: i!.resize }).toEqual({ state: 'running', memoryMb: done ? 128 : 64, resize: null });
        expect(world.copySize.get(`h1:${i!.id}`) ?? 64).toBe(i!.memoryMb);
        consistent(i!);
      },
    });
  });

  test('resize that moves (no room on its host): failed or cancelled at any step, the instance runs at one size on one host, the database\'s', async () => {
    await everyStep({
      commit: 'commitResizeMove',
      setup: () => {
        const inst = world.placed('running');
        Object.assign(inst, { state: 'resizing', memoryMb: 64, resize: { from: 64, to: 128 } });
        return { inst, subject: inst.id, op: world.addOp('resize', { instanceId: inst.id }, 'running') };
      },
      run: (op, id) => drive(resizeInstance, { operationId: op, instanceId: id, plan: 'migrate', prior: 'running' }, id, undefinedFault(id)),
      check: (i, done) => {
        if (i!.state === 'repairing') {
          expect(i!.resize).toEqual({ from: 64, to: 128 });
          return;
        }
        expect({ state: i!.state, host: i!.host, memoryMb: i!.memoryMb, resize: i!.resize })
          .toEqual({ state: 'running', host: done ? 'h2' : 'h1', memoryMb: done ? 128 : 64, resize: null });
        expect(world.copySize.get(`${i!.host}:${i!.id}`) ?? 64).toBe(i!.memoryMb);
        consistent(i!);
      },
    });
    // A stuck undo left a repair: it destroys the target's copy, gives its claim back and brings the source back.
    for (const i of world.inst.values()) if (i.state === 'repairing' && i.resize) await repair(i);
  });

  test('snapshot: failed or cancelled at any step, the snapshot is failed, the instance thawed and as it was', async () => {
    const snapshotOf = new Map<string, string>();
    await everyStep({
      commit: 'markSnapshotReady',
      setup: () => {
        const inst = world.placed('running');
        snapshotOf.set(inst.id, `snap-${inst.id}`);
        return { inst, subject: inst.id, op: world.addOp('snapshot', { instanceId: inst.id }, 'running') };
      },
      run: (op, id) => drive(snapshotInstance, { operationId: op, instanceId: id, snapshotId: snapshotOf.get(id)! }, id, undefinedFault(id)),
      check: (i, done) => {
        expect(world.snapshots.get(snapshotOf.get(i!.id)!)?.state ?? 'never made').toEqual(done ? 'ready' : expect.stringMatching(/^(failed|never made)$/));
        expect(i!.state).toBe('running');
        expect(world.frozen.has(`h1:${i!.id}`)).toBe(false);
        consistent(i!);
      },
    });
  });

  for (const prior of ['running', 'stopped'] as const) {
    test(`migrate a ${prior} instance: failed or cancelled at any step, it is ${prior} on its source with no target claim and no copy on the target`, async () => {
      await everyStep({
        commit: 'commitMigration',
        setup: () => { const inst = world.placed(prior); return { inst, subject: inst.id, op: world.addOp('migrate', { instanceId: inst.id }, prior) }; },
        run: (op, id) => drive(migrateInstance, { operationId: op, instanceId: id, snapshot: 'latest', sourceScheduleToStartSeconds: 5 }, id, undefinedFault(id)),
        check: (i, done) => {
          expect(i!).toMatchObject({ state: prior, host: done ? 'h2' : 'h1' });
          if (!done) expect(world.copiesOf(i!.id)).toEqual(['h1']);
          consistent(i!);
        },
      });
    });
  }

  test('migrate with nowhere to go (one host in the zone): fails at once and the stopped instance stays stopped', async () => {
    const inst = world.placed('stopped');
    const op = world.addOp('migrate', { instanceId: inst.id }, 'stopped');
    world.hostState.set('h2', 'disabled');
    try {
      expect(await drive(migrateInstance, { operationId: op.id, instanceId: inst.id, snapshot: 'latest' }, inst.id)).toBe('failed');
    } finally {
      world.hostState.set('h2', 'enabled');
    }
    expect(world.ops.get(op.id)!.error).toMatch(/no host in the zone/);
    expect(world.copies.get(`h1:${inst.id}`)).toBe('stopped');
    expect(inst.state).toBe('stopped');
    expect(world.calls.get(inst.id)).not.toContain('host.snapshotAndStop');
    expect(world.calls.get(inst.id)).not.toContain('host.stopInstance');
  });

  test('migrate: the source\'s snapshot and stop are one host step; failing at either phase, the source is thawed and as it was, the snapshot failed and its data gone', async () => {
    for (const prior of ['running', 'stopped'] as const) {
      const inst = world.placed(prior);
      const op = world.addOp('migrate', { instanceId: inst.id }, prior);
      expect(await drive(migrateInstance, { operationId: op.id, instanceId: inst.id, snapshot: 'latest' }, inst.id)).toBe('succeeded');
      const host = (world.steps.get(inst.id) ?? []).filter((x) => x.startsWith('host.'));
      expect([prior, host]).toEqual([prior, ['host.snapshotAndStop', 'host.buildCopy', 'host.destroyInstance']]);
      const made = [...world.snapshots.entries()].filter(([, x]) => x.instanceId === inst.id);
      expect([prior, made.map(([, x]) => x.state), world.snapshotData.has(made[0]![0])]).toEqual([prior, ['ready'], true]);
      for (const point of ['host.snapshotAndStop:snapshotInstance', 'host.snapshotAndStop:stopInstance']) {
        const again = world.placed(prior);
        const failing = world.addOp('migrate', { instanceId: again.id }, prior);
        world.faultAt(again.id, point, 'business');
        expect([prior, point, await drive(migrateInstance, { operationId: failing.id, instanceId: again.id, snapshot: 'latest' }, again.id)]).toEqual([prior, point, 'failed']);
        expect([prior, point, again]).toEqual([prior, point, expect.objectContaining({ state: prior, host: 'h1', target: null, targetHeld: false })]);
        expect([prior, point, world.copies.get(`h1:${again.id}`), world.frozen.has(`h1:${again.id}`)]).toEqual([prior, point, prior, false]);
        const snapshots = [...world.snapshots.entries()].filter(([, x]) => x.instanceId === again.id);
        expect(snapshots.map(([, x]) => x.state)).toEqual(['failed']);
        // A snapshot made before the stop failed is not kept as data nobody names.
        expect([prior, point, world.snapshotData.has(snapshots[0]![0])]).toEqual([prior, point, false]);
        consistent(again);
      }
    }
  });

  test('migrate: a target copy that cannot be destroyed leaves the instance repairing, the source stopped; the repair restores it', async () => {
    const inst = world.placed('running');
    const op = world.addOp('migrate', { instanceId: inst.id }, 'running');
    world.faultAt(inst.id, 'host.buildCopy:plumbNetwork', 'business');
    world.faultAt(inst.id, 'host.destroyInstance', 'business');
    expect(await drive(migrateInstance, { operationId: op.id, instanceId: inst.id, snapshot: 'none' }, inst.id)).toBe('failed');
    expect(inst).toMatchObject({ state: 'repairing', repairTo: 'running', target: 'h2', targetHeld: true });
    expect(world.copies.get(`h1:${inst.id}`)).toBe('stopped');
    world.clearFaults(inst.id);
    await repair(inst);
    expect(inst).toMatchObject({ state: 'running', host: 'h1', target: null });
    expect(world.copiesOf(inst.id)).toEqual(['h1']);
  });

  test('migrate: a failure inside the target\'s build (its copy made, then started) leaves the instance on its source and nothing on the target', async () => {
    for (const point of ['host.buildCopy:createInstance', 'host.buildCopy:startInstance', 'host.buildCopy:plumbNetwork']) {
      const inst = world.placed('running');
      const op = world.addOp('migrate', { instanceId: inst.id }, 'running');
      world.faultAt(inst.id, point, 'business');
      expect([point, await drive(migrateInstance, { operationId: op.id, instanceId: inst.id, snapshot: 'none' }, inst.id)]).toEqual([point, 'failed']);
      expect([point, inst]).toEqual([point, expect.objectContaining({ state: 'running', host: 'h1', target: null, targetHeld: false })]);
      expect([point, world.copiesOf(inst.id)]).toEqual([point, ['h1']]);
      expect(world.copies.get(`h1:${inst.id}`)).toBe('running');
      consistent(inst);
    }
  });

  test('migrate onto a host that still has a stale copy of the instance: the copy is built afresh and the record of the stale one goes with the commit', async () => {
    const inst = world.placed('stopped');
    world.copies.set(`h2:${inst.id}`, 'running');
    world.stale.add(`h2:${inst.id}`);
    const op = world.addOp('migrate', { instanceId: inst.id }, 'stopped');
    expect(await drive(migrateInstance, { operationId: op.id, instanceId: inst.id, snapshot: 'none' }, inst.id)).toBe('succeeded');
    expect(inst).toMatchObject({ state: 'stopped', host: 'h2', target: null });
    expect(world.copiesOf(inst.id)).toEqual(['h2']);
    expect(world.copies.get(`h2:${inst.id}`)).toBe('stopped');
    expect([...world.stale].filter((k) => k.endsWith(inst.id))).toEqual([]);
    expect(world.steps.get(inst.id)).toEqual(expect.arrayContaining(['host.buildCopy', 'commitMigration']));
    expect(world.steps.get(inst.id)).not.toContain('host.createInstance');
    consistent(inst);
  });

  test('evacuate: cancelled while a move runs, that move is undone and the host is enabled again; done, it is disabled and an instance deleted meanwhile is skipped', async () => {
    const host = 'h4';
    const a = world.placed('running', host);
    const b = world.placed('stopped', host);
    world.hostState.set(host, 'draining');
    const op = world.addOp('evacuate', { hostId: host }, 'enabled');
    world.faultAt(a.id, 'host.buildCopy', 'block');
    const h = await start(evacuateHost, { operationId: op.id, hostId: host, concurrency: 1, requestedBy: null });
    await until('the first move to block', () => world.blocked.has(a.id));
    await h.cancel();
    expect(await outcome(h)).toBe('cancelled');
    expect(world.hostState.get(host)).toBe('enabled');
    expect(a).toMatchObject({ state: 'running', host, target: null });
    expect(b).toMatchObject({ state: 'stopped', host });
    consistent(a);

    world.clearFaults(a.id);
    world.hostState.set(host, 'draining');
    const again = world.addOp('evacuate', { hostId: host }, 'enabled');
    world.faultAt(b.id, 'beginMigrate', 'business');
    b.state = 'deleted';
    const progress = await (await start(evacuateHost, { operationId: again.id, hostId: host, concurrency: 2, requestedBy: null })).result();
    expect(progress).toMatchObject({ total: 1, done: 1, failed: 0 });
    expect(world.hostState.get(host)).toBe('disabled');
    expect(a).toMatchObject({ state: 'running', host: 'h1' });
    consistent(a);
  });

  test('evacuate: a move whose child workflow was already started (a Temporal node died as it started it) is followed to its end and counted as done', async () => {
    const host = 'h4';
    const a = world.placed('running', host);
    world.hostState.set(host, 'draining');
    const op = world.addOp('evacuate', { hostId: host }, 'enabled');
    // What a retried start meets after a node died between starting the child and telling the parent.
    world.childMade = async (c) => {
      await env.client.workflow.start(migrateInstance, {
        taskQueue: CONTROL, workflowId: c.workflowId, args: [{ operationId: c.operationId, instanceId: c.instanceId, ...c.input }], workflowTaskTimeout: '1 second',
      } as unknown as WorkflowStartOptions<typeof migrateInstance>);
    };
    try {
      const progress = await (await start(evacuateHost, { operationId: op.id, hostId: host, concurrency: 1, requestedBy: null })).result();
      expect(progress).toMatchObject({ total: 1, done: 1, failed: 0 });
    } finally {
      world.childMade = undefined;
    }
    expect(world.hostState.get(host)).toBe('disabled');
    expect(a).toMatchObject({ state: 'running', host: 'h1' });
    consistent(a);
  });

  test('a move whose source does not answer and is not fenced fails at once and rebuilds nothing', async () => {
    world.hostState.set('h3', 'dead');
    const inst = world.placed('running', 'h3');
    const op = world.addOp('migrate', { instanceId: inst.id }, 'running');
    expect(await drive(migrateInstance, { operationId: op.id, instanceId: inst.id, snapshot: 'latest', sourceScheduleToStartSeconds: 1 }, inst.id)).toBe('failed');
    expect(world.ops.get(op.id)!.error).toMatch(/not fenced/);
    expect(inst).toMatchObject({ state: 'running', host: 'h3', target: null });
    expect(world.copiesOf(inst.id)).toEqual(['h3']);
  });

  test('a move whose source is dead and fenced rebuilds it elsewhere and records the dead copy for its return', async () => {
    world.hostState.set('h3', 'dead');
    world.fencedHosts.add('h3');
    try {
      const inst = world.placed('running', 'h3');
      const op = world.addOp('migrate', { instanceId: inst.id }, 'running');
      expect(await drive(migrateInstance, { operationId: op.id, instanceId: inst.id, snapshot: 'latest', sourceScheduleToStartSeconds: 1 }, inst.id)).toBe('succeeded');
      expect(inst).toMatchObject({ state: 'running', host: 'h1' });
      expect(world.stale.has(`h3:${inst.id}`)).toBe(true);
      expect(world.calls.get(inst.id)).toContain('fenceHost');
    } finally {
      world.fencedHosts.delete('h3');
    }
  });

  test('a busy source (its probe answers, its work queue does not) is waited for, never taken for dead: the move completes once it works again', async () => {
    const late = await Worker.create({ connection: env.nativeConnection, taskQueue: 'host-h6-probe', activities: world.probeActivities('h6') });
    const probeRun = late.run();
    let work: Worker | undefined;
    try {
      const inst = world.placed('running', 'h6');
      const op = world.addOp('migrate', { instanceId: inst.id }, 'running');
      const h = await start(migrateInstance, { operationId: op.id, instanceId: inst.id, snapshot: 'none', sourceScheduleToStartSeconds: 1, busySourceWaitSeconds: 60 });
      await until('the move to wait on its busy source', () => (world.calls.get(inst.id) ?? []).includes('recordProgress'), 30_000);
      expect(world.copiesOf(inst.id)).toEqual(['h6']);
      work = await Worker.create({ connection: env.nativeConnection, taskQueue: 'host-h6', activities: world.hostActivities('h6') });
      const workRun = work.run();
      expect(await outcome(h)).toBe('succeeded');
      expect(inst).toMatchObject({ state: 'running', host: 'h1' });
      expect(world.copiesOf(inst.id)).toEqual(['h1']);
      work.shutdown();
      await workRun;
    } finally {
      late.shutdown();
      await probeRun;
    }
  });

  test('a source busy for longer than the bound fails the move and rebuilds nothing', async () => {
    const probe = await Worker.create({ connection: env.nativeConnection, taskQueue: 'host-h7-probe', activities: world.probeActivities('h7') });
    const probeRun = probe.run();
    try {
      const inst = world.placed('running', 'h7');
      const op = world.addOp('migrate', { instanceId: inst.id }, 'running');
      expect(await drive(migrateInstance, { operationId: op.id, instanceId: inst.id, snapshot: 'none', sourceScheduleToStartSeconds: 1, busySourceWaitSeconds: 2 }, inst.id)).toBe('failed');
      expect(world.ops.get(op.id)!.error).toMatch(/busy: its probe answers/);
      expect(inst).toMatchObject({ state: 'running', host: 'h7', target: null });
      expect(world.copiesOf(inst.id)).toEqual(['h7']);
    } finally {
      probe.shutdown();
      await probeRun;
    }
  });

  test('convert: failed or cancelled at any step, the target image is failed', async () => {
    await everyStep({
      commit: 'markImageReady',
      setup: () => {
        const image = `img-${++n}`;
        world.images.set(image, 'pending');
        return { subject: image, op: world.addOp('convert', { imageId: image }) };
      },
      run: (op, image) => drive(convertImage, { operationId: op, sourceImageId: 'src', targetImageId: image }, image, undefinedFault(image)),
      check: (_i, done, image) => expect(world.images.get(image)).toBe(done ? 'ready' : 'failed'),
    });
  });

  test('reset of a failed create to a point mid-way (the Temporal UI\'s retry): the new run starts over and ends running with one address', async () => {
    const inst = world.addInstance('pending');
    const op = world.addOp('create', { instanceId: inst.id }, 'pending');
    world.faultAt(inst.id, 'host.buildInstance:plumbNetwork', 'business', 1);
    const h = await start(createInstance, { instanceId: inst.id, operationId: op.id });
    expect(await outcome(h)).toBe('failed');
    expect(inst).toMatchObject({ state: 'failed', ip: null, held: false });
    const history = await h.fetchHistory();
    const events = history.events!;
    const scheduled = events.find((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'buildInstance')!;
    const afterCreate = events.find((e) => Number(e.eventId) > Number(scheduled.eventId) && e.workflowTaskCompletedEventAttributes)!;
    const { runId } = await env.client.workflowService.resetWorkflowExecution({
      namespace: 'default', workflowExecution: { workflowId: h.workflowId }, reason: 'retry from the UI',
      workflowTaskFinishEventId: afterCreate.eventId, requestId: `reset-${inst.id}`,
    });
    const reset = env.client.workflow.getHandle(h.workflowId, runId!);
    expect(await outcome(reset)).toBe('succeeded');
    expect(world.ops.get(op.id)).toMatchObject({ state: 'succeeded', runId });
    expect(inst.state).toBe('running');
    expect(inst.ip).not.toBeNull();
    consistent(inst);
  });
});

/** Faults are planned per subject before the run; `drive` only needs to know whether to cancel. */
function undefinedFault(subject: string): Fault | undefined {
  return world.plannedBlock(subject) ? 'block' : undefined;
}
