import crypto from 'node:crypto';
import type { RawSample } from '../host/metrics/sample';
import { snapshotNames } from '../images/snapshot-data';
import type { EngineObject, InstanceDriver, InstanceKind, InstanceSpec, InstanceStatus, SnapshotResult } from './instance-driver';

// A simulated engine for the fleet benchmark (bench/fleet.ts, workers/sim-fleet.ts): no engine,
// state in memory, each verb taking a realistic time. It keeps the drivers' contract: idempotent
// verbs keyed by the instance id, destroy of nothing is success, inventory lists what it holds.

/** Milliseconds per verb, measured on the real engines here (bench/create-containers, the create profile). */
export interface SimLatencies {
  ensureImage: number; create: number; start: number; stop: number; pause: number; attach: number; detach: number;
  destroy: number; resize: number; snapshot: number; inspect: number;
}
export const DOCKER_LIKE: SimLatencies = {
  ensureImage: 5, create: 120, start: 220, stop: 150, pause: 30, attach: 60, detach: 30, destroy: 180, resize: 40, snapshot: 900, inspect: 5,
};

/** The hosts of a simulated fleet (workers/sim-fleet.ts), named so that a benchmark can find them: `<prefix>0001`, ... */
export const simHostIds = (prefix: string, count: number): string[] =>
  Array.from({ length: count }, (_, k) => `${prefix}${String(k + 1).padStart(4, '0')}`);

interface SimInstance { spec: InstanceSpec; state: 'running' | 'paused' | 'stopped'; attached: boolean }

export class SimDriver implements InstanceDriver {
  private readonly instances = new Map<string, SimInstance>();
  private readonly latencies: SimLatencies;

  private readonly jitter: number;
  private readonly registry: string;

  /**
   * `registry`: where its snapshots are said to be (the platform's, so deleting one finds nothing
   * there, as after any delete); `scale` multiplies every latency (0: instant); each wait varies by
   * +-`jitter` of itself.
   */
  constructor(readonly kind: InstanceKind, o: { registry: string; latencies?: SimLatencies; scale?: number; jitter?: number }) {
    const scale = o.scale ?? 1;
    this.latencies = Object.fromEntries(Object.entries(o.latencies ?? DOCKER_LIKE).map(([k, v]) => [k, v * scale])) as unknown as SimLatencies;
    this.jitter = o.jitter ?? 0.2;
    this.registry = o.registry;
  }

  /** How many instances this simulated engine holds. */
  get size(): number { return this.instances.size; }
  /** The addresses its running instances answer on (what a probe of the zone would hear). */
  addresses(): string[] {
    return [...this.instances.values()].filter((i) => i.state !== 'stopped' && i.attached).map((i) => i.spec.network.ip);
  }

  private async take(verb: keyof SimLatencies): Promise<void> {
    const base = this.latencies[verb];
    if (base <= 0) return;
    const ms = base * (1 + (Math.random() * 2 - 1) * this.jitter);
    await new Promise((r) => setTimeout(r, ms));
  }
  private must(instanceId: string): SimInstance {
    const i = this.instances.get(instanceId);
    if (!i) throw new Error(`sim: no instance ${instanceId}`);
    return i;
  }

  async probe() { return { version: 'sim' }; }
  async ensureImage(): Promise<void> { await this.take('ensureImage'); }
  async create(spec: InstanceSpec): Promise<void> {
    await this.take('create');
    if (!this.instances.has(spec.instanceId)) this.instances.set(spec.instanceId, { spec, state: 'stopped', attached: false });
  }
  async start(instanceId: string): Promise<void> { await this.take('start'); const i = this.must(instanceId); i.state = 'running'; }
  async stop(instanceId: string): Promise<void> { await this.take('stop'); const i = this.must(instanceId); i.state = 'stopped'; i.attached = false; }
  async pause(instanceId: string): Promise<void> { await this.take('pause'); this.must(instanceId).state = 'paused'; }
  async resume(instanceId: string): Promise<void> { await this.take('pause'); this.must(instanceId).state = 'running'; }
  async attachNetwork(spec: InstanceSpec): Promise<void> { await this.take('attach'); this.must(spec.instanceId).attached = true; }
  async detachNetwork(instanceId: string): Promise<void> {
    await this.take('detach');
    const i = this.instances.get(instanceId);
    if (i) i.attached = false;
  }
  async destroy(instanceId: string): Promise<void> { await this.take('destroy'); this.instances.delete(instanceId); }
  async resize(spec: InstanceSpec, running: boolean): Promise<{ diskGb: number | null }> {
    await this.take('resize');
    const i = this.must(spec.instanceId);
    i.spec = spec;
    i.state = running ? 'running' : 'stopped';
    return { diskGb: spec.diskGb };
  }
  async inspect(instanceId: string): Promise<InstanceStatus> {
    await this.take('inspect');
    const i = this.instances.get(instanceId);
    if (!i) return { exists: false, running: false, paused: false, state: 'absent' };
    return { exists: true, running: i.state === 'running', paused: i.state === 'paused', state: i.state, cpuset: i.spec.cpuset.join(','), memoryBytes: i.spec.memoryMb * 2 ** 20 };
  }
  async inventory(detail: boolean): Promise<EngineObject[]> {
    return [...this.instances.entries()].map(([instanceId, i]) => ({
      instanceId, kind: this.kind, state: i.state, attached: i.attached, frozen: false,
      ...(detail ? { detail: { ip: i.spec.network.ip, cpuset: i.spec.cpuset, memoryMb: i.spec.memoryMb } } : {}),
    }));
  }
  async sampleAll(): Promise<Map<string, RawSample>> { return new Map(); }
  async snapshot(instanceId: string, snapshotId: string): Promise<SnapshotResult> {
    await this.take('snapshot');
    this.must(instanceId);
    const digest = `sha256:${crypto.createHash('sha256').update(snapshotId).digest('hex')}`;
    return { location: snapshotNames.dockerRef(this.registry, instanceId, snapshotId), digest, consistency: 'crash' };
  }
  async endSnapshot(): Promise<void> {}
}
