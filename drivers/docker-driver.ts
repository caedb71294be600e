import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Docker from 'dockerode';
import * as tar from 'tar';
import { readContainer } from '../host/metrics/cgroup';
import { vethNames } from '../host/bridge-plumbing';
import type { RawSample } from '../host/metrics/sample';
import { buildContainerOptions, pullReference } from './docker-options';
import { snapshotNames } from '../images/snapshot-data';
import {
  INSTANCE_LABEL, instanceResourceName, PermanentDriverError,
  type EngineObject, type InstanceDriver, type InstanceSpec, type InstanceStatus, type SnapshotResult,
} from './instance-driver';
import { addressInside, plumb, plumbedInstances, unplumb } from '../host/bridge-plumbing';
import { parseCpuList } from '../host/machine';

const statusCode = (err: unknown): number | undefined => (err as { statusCode?: number })?.statusCode;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export class DockerDriver implements InstanceDriver {
  readonly kind = 'docker' as const;
  private readonly docker: Docker;

  constructor(socketPath: string, private readonly hostId: string, private readonly registry = '127.0.0.1:5000') {
    this.docker = new Docker({ socketPath });
  }

  /** Commit (Docker pauses the container meanwhile) and push to the registry as snapshots/<instance>:<snapshot>. */
  async snapshot(instanceId: string, snapshotId: string): Promise<SnapshotResult> {
    const ref = snapshotNames.dockerRef(this.registry, instanceId, snapshotId);
    const repo = ref.slice(0, ref.lastIndexOf(':'));
    await this.container(instanceId).commit({ repo, tag: snapshotId, pause: true });
    const push = await this.docker.getImage(ref).push({ authconfig: {} as Docker.AuthConfig });
    await new Promise<void>((resolve, reject) => this.docker.modem.followProgress(push, (err: Error | null) => (err ? reject(err) : resolve())));
    const info = await this.docker.getImage(ref).inspect();
    const digest = (info.RepoDigests ?? []).find((d) => d.startsWith(`${repo}@`))?.split('@')[1];
    if (!digest) throw new Error(`pushed ${ref} but the engine reports no registry digest`);
    await this.docker.getImage(ref).remove().catch(() => undefined);
    return { location: ref, digest, consistency: 'crash' };
  }

  async probe() {
    const v = await this.docker.version();
    return { version: v.Version };
  }

  async ensureImage(spec: InstanceSpec, onProgress?: (detail: string) => void): Promise<void> {
    const ref = pullReference(spec.image.location, spec.image.digest);
    try {
      await this.docker.getImage(ref).inspect();
      return;
    } catch (err) {
      if (statusCode(err) !== 404) throw err;
    }
    let stream: NodeJS.ReadableStream;
    try {
      stream = await this.docker.pull(ref);
    } catch (err) {
      if (statusCode(err) === 404 || /not found|manifest unknown/i.test(String((err as Error).message))) {
        throw new PermanentDriverError(`image ${ref} is not in the registry`);
      }
      throw err;
    }
    await new Promise<void>((resolve, reject) => {
      this.docker.modem.followProgress(stream, (err: Error | null) => {
        if (!err) return resolve();
        if (/not found|manifest unknown/i.test(err.message)) reject(new PermanentDriverError(`image ${ref} is not in the registry`));
        else reject(err);
      }, (event: { status?: string }) => onProgress?.(event.status ?? ''));
    });
  }

  async create(spec: InstanceSpec): Promise<void> {
    const options = buildContainerOptions(spec);
    const existing = await this.inspect(spec.instanceId);
    if (existing.exists) {
      if (existing.labels?.[INSTANCE_LABEL] !== spec.instanceId) {
        throw new PermanentDriverError(`container ${options.name} exists but is not labelled for ${spec.instanceId}`);
      }
      return;
    }
    try {
      await this.docker.createContainer(options);
    } catch (err) {
      if (statusCode(err) === 409) return; // created by an earlier attempt of this same activity
      if (statusCode(err) === 404) throw new PermanentDriverError(`image ${options.Image} is not on this host`);
      throw err;
    }
    if (spec.authorizedKeys) await this.installKeys(spec.instanceId, spec.authorizedKeys);
  }

  /**
   * root's authorized_keys copied into the created container by the engine (`docker cp`'s archive call,
   * which resolves paths inside the container's root), never by a process in the guest.
   */
  private async installKeys(instanceId: string, keys: string): Promise<void> {
    const work = fs.mkdtempSync(path.join(os.tmpdir(), 'vc-keys-'));
    try {
      fs.mkdirSync(path.join(work, 'root', '.ssh'), { recursive: true, mode: 0o700 });
      fs.chmodSync(path.join(work, 'root'), 0o700);
      fs.writeFileSync(path.join(work, 'root', '.ssh', 'authorized_keys'), keys, { mode: 0o600 });
      const archive = path.join(work, 'keys.tar');
      await tar.c({ file: archive, cwd: work, portable: false }, ['root']);
      await this.container(instanceId).putArchive(archive, { path: '/' });
    } finally {
      fs.rmSync(work, { recursive: true, force: true });
    }
  }

  async start(instanceId: string): Promise<void> {
    const status = await this.inspect(instanceId);
    if (status.running) return;
    await this.container(instanceId).start().catch((err) => { if (statusCode(err) !== 304) throw err; });
  }

  async stop(instanceId: string): Promise<void> {
    await this.container(instanceId).stop({ t: 10 }).catch((err) => { if (statusCode(err) !== 304) throw err; });
  }

  async pause(instanceId: string): Promise<void> {
    const status = await this.inspect(instanceId);
    if (!status.paused) await this.container(instanceId).pause();
  }

  async resume(instanceId: string): Promise<void> {
    const status = await this.inspect(instanceId);
    if (status.paused) await this.container(instanceId).unpause();
  }

  /** What pipework did: a veth pair onto the zone bridge, eth0 inside with the platform address. */
  async attachNetwork(spec: InstanceSpec): Promise<void> {
    const status = await this.inspect(spec.instanceId);
    if (!status.running || !status.pid) throw new Error(`container for ${spec.instanceId} is not running`);
    await plumb({ instanceId: spec.instanceId, hostId: this.hostId, pid: status.pid, ...spec.network });
  }

  async detachNetwork(instanceId: string): Promise<void> {
    await unplumb(instanceId, this.hostId);
  }

  async destroy(instanceId: string): Promise<void> {
    try {
      await this.container(instanceId).remove({ force: true, v: true });
    } catch (err) {
      if (statusCode(err) !== 404) throw err;
    }
    await unplumb(instanceId, this.hostId);
  }

  /** Dockerd pauses and unpauses a container around its own commit: nothing of a snapshot outlives it. */
  async endSnapshot(): Promise<void> {}

  /** Live (or on a stopped container): dockerd changes the cgroup limits in place; a container's disk is not bounded. */
  async resize(spec: InstanceSpec): Promise<{ diskGb: number | null }> {
    const bytes = spec.memoryMb * 1024 * 1024;
    try {
      await this.container(spec.instanceId).update({ CpusetCpus: spec.cpuset.join(','), Memory: bytes, MemorySwap: bytes });
    } catch (err) {
      if (statusCode(err) === 404) throw new PermanentDriverError(`container of ${spec.instanceId} does not exist`);
      throw err;
    }
    return { diskGb: null };
  }

  async inspect(instanceId: string): Promise<InstanceStatus> {
    try {
      const info = await this.container(instanceId).inspect();
      return {
        exists: true, running: info.State.Running, paused: info.State.Paused, state: info.State.Status,
        pid: info.State.Pid || undefined, cpuset: info.HostConfig.CpusetCpus, memoryBytes: info.HostConfig.Memory,
        labels: info.Config.Labels ?? {},
      };
    } catch (err) {
      if (statusCode(err) === 404) return { exists: false, running: false, paused: false, state: 'absent' };
      throw err;
    }
  }

  /** Labelled containers, and veth pairs of this host whose container is gone. */
  async inventory(detail: boolean): Promise<EngineObject[]> {
    const containers = await this.docker.listContainers({ all: true, filters: { label: [INSTANCE_LABEL] } });
    const plumbed = await plumbedInstances(this.hostId);
    const objects: EngineObject[] = [];
    for (const c of containers) {
      const instanceId = c.Labels[INSTANCE_LABEL];
      if (!instanceId) continue;
      const state = c.State === 'running' ? 'running' : c.State === 'paused' ? 'paused' : 'stopped';
      const o: EngineObject = { instanceId, kind: 'docker', state, attached: plumbed.has(instanceId), frozen: false };
      if (detail) {
        const s = await this.inspect(instanceId);
        o.detail = {
          ip: s.running && s.pid ? await addressInside(s.pid) : null,
          cpuset: parseCpuList(s.cpuset ?? ''), memoryMb: Math.round((s.memoryBytes ?? 0) / 2 ** 20),
        };
      }
      objects.push(o);
    }
    const seen = new Set(objects.map((o) => o.instanceId));
    for (const instanceId of plumbed) {
      if (!seen.has(instanceId)) objects.push({ instanceId, kind: 'docker', state: 'absent', attached: true, frozen: false });
    }
    return objects;
  }

  /** Each container's init pid, kept while its cgroup still names the container (asked again after a restart). */
  private initPids = new Map<string, { containerId: string; pid: number }>();

  async sampleAll(): Promise<Map<string, RawSample>> {
    const containers = await this.docker.listContainers({ filters: { label: [INSTANCE_LABEL], status: ['running'] } });
    const out = new Map<string, RawSample>();
    for (const c of containers) {
      const instanceId = c.Labels[INSTANCE_LABEL];
      if (!instanceId || !UUID.test(instanceId)) continue;
      const veth = vethNames(instanceId, this.hostId).host;
      const known = this.initPids.get(instanceId);
      let sample = known?.containerId === c.Id ? readContainer(known.pid, veth, c.Id) : null;
      if (!sample) {
        // First seen, or restarted since: its init pid asked of the engine once.
        const pid = (await this.docker.getContainer(c.Id).inspect().catch(() => null))?.State?.Pid;
        if (!pid) continue;
        this.initPids.set(instanceId, { containerId: c.Id, pid });
        sample = readContainer(pid, veth, c.Id);
      }
      if (sample) out.set(instanceId, sample);
    }
    for (const id of this.initPids.keys()) if (!out.has(id)) this.initPids.delete(id);
    return out;
  }

  private container(instanceId: string) {
    return this.docker.getContainer(instanceResourceName(instanceId));
  }
}
