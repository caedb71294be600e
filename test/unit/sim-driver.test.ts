import { CancelledFailure } from '@temporalio/activity';
import { MockActivityEnvironment } from '@temporalio/testing';
import { stepContext } from '../../host/run';
import { createHostActivities } from '../../activities/host/instance-activities';
import { DOCKER_LIKE, SimDriver } from '../../drivers/sim-driver';
import type { InstanceSpec } from '../../drivers/instance-driver';
import type { HostInventory } from '../../activities/host/instance-activities';

// The fleet's simulated engine behind the real host activities: the same contract as the real
// drivers (idempotent verbs, an inventory of what it holds, destroy of nothing is success).
describe('sim driver', () => {
  const spec = (instanceId: string): InstanceSpec => ({
    instanceId, kind: 'docker', hostname: instanceId, image: { id: 'img', kind: 'docker', location: 'r/busybox:1', digest: null, boot: null },
    vcpus: 1, memoryMb: 64, diskGb: 1, cpuset: [0], network: { bridge: 'b', ip: '10.70.0.10', prefix: 16, gateway: '10.70.0.1', mac: '' },
  });
  const act = <T>(fn: () => Promise<T>): Promise<T> => new MockActivityEnvironment().run(fn) as Promise<T>;
  const inventory = (host: ReturnType<typeof createHostActivities>, detail: boolean) => act<HostInventory>(() => host.inventory(detail));
  /** Runs `fn` as an activity, adding to `phases` each phase its heartbeats name, in order. */
  const withPhases = <T>(phases: string[], fn: () => Promise<T>): Promise<T> => {
    const env = new MockActivityEnvironment();
    env.on('heartbeat', (d: { phase?: string }) => { if (d?.phase && phases[phases.length - 1] !== d.phase) phases.push(d.phase); });
    return env.run(fn) as Promise<T>;
  };

  test('a create through the host activities, each step twice, leaves one running instance with its network; destroy twice leaves none', async () => {
    const driver = new SimDriver('docker', { registry: '127.0.0.1:5000', latencies: DOCKER_LIKE, scale: 0 });
    const host = createHostActivities({ hostId: 'sim-unit', drivers: { docker: driver } });
    const s = spec('i-1');
    for (let k = 0; k < 2; k++) {
      await act(() => host.ensureImage(s));
      await act(() => host.createInstance(s));
      await act(() => host.startInstance(s));
      await act(() => host.plumbNetwork(s));
    }
    expect(driver.size).toBe(1);
    expect((await inventory(host, true)).objects).toEqual([
      { instanceId: 'i-1', kind: 'docker', state: 'running', attached: true, frozen: false, detail: { ip: '10.70.0.10', cpuset: [0], memoryMb: 64 } },
    ]);
    expect(driver.addresses()).toEqual(['10.70.0.10']);
    // Where a real container snapshot is: the platform's registry, so deleting it is an ordinary delete.
    expect((await act(() => host.snapshotInstance(s, 'snap-1'))).location).toBe('127.0.0.1:5000/snapshots/i-1:snap-1');
    await act(() => host.stopInstance(s));
    expect(driver.addresses()).toEqual([]);
    for (let k = 0; k < 2; k++) await act(() => host.destroyInstance(s));
    expect((await inventory(host, false)).objects).toEqual([]);
  });

  test('a build is one host activity: twice, one running instance on its network; its heartbeats name each phase in order', async () => {
    const driver = new SimDriver('docker', { registry: '127.0.0.1:5000', latencies: DOCKER_LIKE, scale: 0 });
    const host = createHostActivities({ hostId: 'sim-unit', drivers: { docker: driver } });
    const s = spec('i-2');
    const phases: string[] = [];
    for (let k = 0; k < 2; k++) await withPhases(phases, () => host.buildInstance(s));
    expect(phases).toEqual(['starting', 'ensureImage', 'createInstance', 'startInstance', 'plumbNetwork',
      'starting', 'ensureImage', 'createInstance', 'startInstance', 'plumbNetwork']);
    expect(driver.size).toBe(1);
    expect((await inventory(host, false)).objects).toEqual([expect.objectContaining({ instanceId: 'i-2', state: 'running', attached: true })]);
    expect(driver.addresses()).toEqual(['10.70.0.10']);
  });

  test('a move\'s source step snapshots, then powers the copy off and takes it off its network; twice, or without a snapshot, the same', async () => {
    const driver = new SimDriver('docker', { registry: '127.0.0.1:5000', latencies: DOCKER_LIKE, scale: 0 });
    const host = createHostActivities({ hostId: 'sim-unit', drivers: { docker: driver } });
    await act(() => host.buildInstance(spec('i-5')));
    const phases: string[] = [];
    const made = await withPhases(phases, () => host.snapshotAndStop(spec('i-5'), 'snap-5'));
    expect(made).toMatchObject({ location: '127.0.0.1:5000/snapshots/i-5:snap-5', consistency: expect.any(String) });
    expect(phases).toEqual(['starting', 'snapshotInstance', 'stopInstance']);
    expect((await inventory(host, false)).objects).toEqual([expect.objectContaining({ instanceId: 'i-5', state: 'stopped', attached: false })]);
    expect(driver.addresses()).toEqual([]);
    expect((await act(() => host.snapshotAndStop(spec('i-5'), 'snap-5')))?.location).toBe(made?.location);
    phases.length = 0;
    expect(await withPhases(phases, () => host.snapshotAndStop(spec('i-5'), null))).toBeNull();
    expect(phases).toEqual(['starting', 'stopInstance']);
    expect((await inventory(host, false)).objects).toEqual([expect.objectContaining({ instanceId: 'i-5', state: 'stopped', attached: false })]);
  });

  test('a move\'s build on its target replaces what an earlier visit left there, and starts the copy only if the instance ran', async () => {
    const driver = new SimDriver('docker', { registry: '127.0.0.1:5000', latencies: DOCKER_LIKE, scale: 0 });
    const host = createHostActivities({ hostId: 'sim-unit', drivers: { docker: driver } });
    // A stale copy of this very instance: running, on its network, at its old size.
    await act(() => host.buildInstance(spec('i-4')));
    const bigger = { ...spec('i-4'), memoryMb: 128 };
    const phases: string[] = [];
    await withPhases(phases, () => host.buildCopy(bigger, false));
    expect(phases).toEqual(['starting', 'clearTarget', 'ensureImage', 'createInstance']);
    expect((await inventory(host, true)).objects).toEqual([
      expect.objectContaining({ instanceId: 'i-4', state: 'stopped', attached: false, detail: expect.objectContaining({ memoryMb: 128 }) }),
    ]);
    expect(driver.addresses()).toEqual([]);
    for (let k = 0; k < 2; k++) await act(() => host.buildCopy(bigger, true));
    expect(driver.size).toBe(1);
    expect((await inventory(host, true)).objects).toEqual([
      expect.objectContaining({ instanceId: 'i-4', state: 'running', attached: true, detail: expect.objectContaining({ memoryMb: 128 }) }),
    ]);
    expect(driver.addresses()).toEqual(['10.70.0.10']);
  });

  test('a build cut short by its cancellation reports a cancel, not the killed command\'s error', async () => {
    const driver = new SimDriver('docker', { registry: '127.0.0.1:5000', latencies: DOCKER_LIKE, scale: 0 });
    // A start that runs until the step's signal kills it, as a real command does.
    driver.start = () => new Promise((_resolve, reject) => {
      const { signal } = stepContext.getStore()!;
      const kill = () => reject(new Error('docker start: The operation was aborted'));
      if (signal.aborted) kill();
      signal.addEventListener('abort', kill);
    });
    const host = createHostActivities({ hostId: 'sim-unit', drivers: { docker: driver } });
    const env = new MockActivityEnvironment();
    env.on('heartbeat', (d: { phase?: string }) => { if (d?.phase === 'startInstance') env.cancel(); });
    const err = await env.run(() => host.buildInstance(spec('i-3'))).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CancelledFailure);
    expect((err as Error).message).toMatch(/aborted/);
  });
});
