import fs from 'node:fs';
import { parseDomstats } from '../host/metrics/domstats';
import type { RawSample } from '../host/metrics/sample';
import path from 'node:path';
import { buildDomainXml } from './domain-xml';
import {
  instanceResourceName, PermanentDriverError,
  type EngineObject, type InstanceDriver, type InstanceSpec, type InstanceStatus, type SnapshotResult,
} from './instance-driver';
import { parseCpuList } from '../host/machine';
import type { ImageStore } from '../images/image-store';
import type { StorageDriver } from '../storage/storage-driver';
import { unpackTgz, writeAuthorizedKeys, writePersonality } from '../host/rootfs';
import { inspectTemplate } from '../host/template-archive';
import { run, stepContext } from '../host/run';
import { holdIfAsked } from '../lib/test-holds';
import { snapshotNames } from '../images/snapshot-data';

export interface LibvirtOptions {
  uri: string;
  domainType: 'kvm' | 'qemu';
  storage: StorageDriver;
  imageStore: ImageStore;
  /** Per-host cache of templates and their kernels. */
  cacheDir: string;
  /** Scratch space for unpacking a rootfs before it goes onto a disk. */
  workDir: string;
  consoleDir: string;
}

type Libvirt = typeof import('@unraid/libvirt', { with: { 'resolution-mode': 'import' } });
type Hypervisor = InstanceType<Libvirt['Hypervisor']>;
type Domain = Awaited<ReturnType<Hypervisor['domainLookupByName']>>;

// libvirt's states, as in virDomainState.
const RUNNING = 1, BLOCKED = 2, PAUSED = 3;

/**
 * VMs through @unraid/libvirt. The binding runs no event loop, so libvirtd drops connections
 * it thinks idle: each verb opens its own connection and closes it.
 */
export class LibvirtDriver implements InstanceDriver {
  readonly kind = 'kvm' as const;
  private lib?: Promise<Libvirt>;

  constructor(private readonly o: LibvirtOptions) {
    for (const dir of [o.cacheDir, o.workDir, o.consoleDir]) fs.mkdirSync(dir, { recursive: true });
  }

  private async connect<T>(fn: (hv: Hypervisor) => Promise<T>): Promise<T> {
    this.lib ??= import('@unraid/libvirt');
    const { Hypervisor } = await this.lib;
    const hv = new Hypervisor({ uri: this.o.uri });
    await hv.connectOpen();
    try {
      return await fn(hv);
    } finally {
      await hv.connectClose().catch(() => undefined);
    }
  }

  private async lookup(hv: Hypervisor, instanceId: string): Promise<Domain | null> {
    try {
      return await hv.domainLookupByName(instanceResourceName(instanceId));
    } catch (err) {
      if (/not found|no domain/i.test(String((err as Error).message))) return null;
      throw err;
    }
  }

  async probe() {
    const version = (await run('virsh', ['-c', this.o.uri, 'version', '--daemon'], 30_000)).match(/libvirt ([\d.]+)/)?.[1] ?? 'unknown';
    await this.connect((hv) => hv.connectGetHostname());
    return { version };
  }

  private imageCache(imageId: string) {
    const dir = path.join(this.o.cacheDir, imageId);
    return { dir, tgz: path.join(dir, 'image.tgz'), kernel: path.join(dir, 'vmlinuz'), initrd: path.join(dir, 'initrd.img'), ready: path.join(dir, '.ready') };
  }

  /** Fetches the template (digest checked) and pulls out its kernel and initrd, once per image. */
  async ensureImage(spec: InstanceSpec, onProgress?: (detail: string) => void): Promise<void> {
    const { image } = spec;
    if (image.kind !== 'tgz' || !image.boot?.kernel || !image.boot?.initrd) {
      throw new PermanentDriverError(`image ${image.id} is not a bootable tgz template (it needs /boot kernel and initrd)`);
    }
    const c = this.imageCache(image.id);
    // The digest it was fetched at: a template registered again under its id (a rebuilt one) is fetched again.
    if (fs.existsSync(c.ready) && fs.readFileSync(c.ready, 'utf8') === (image.digest ?? '')) return;
    fs.mkdirSync(c.dir, { recursive: true });
    onProgress?.('fetching template');
    await this.o.imageStore.fetch(image.location, c.tgz, image.digest).catch((err) => {
      throw new PermanentDriverError(String((err as Error).message));
    });
    // Checked once per host before anything of it is unpacked as root (the store's copy may predate the check at upload).
    await inspectTemplate(c.tgz);
    const boot = path.join(c.dir, 'boot-unpack');
    fs.rmSync(boot, { recursive: true, force: true });
    fs.mkdirSync(boot);
    await run('tar', ['-xzf', c.tgz, '-C', boot, `./${image.boot.kernel}`, `./${image.boot.initrd}`])
      .catch(() => run('tar', ['-xzf', c.tgz, '-C', boot, image.boot!.kernel, image.boot!.initrd]));
    for (const [member, target] of [[image.boot.kernel, c.kernel], [image.boot.initrd, c.initrd]]) {
      const unpacked = path.join(boot, member);
      if (!fs.lstatSync(unpacked, { throwIfNoEntry: false })?.isFile()) throw new PermanentDriverError(`${member} in the template is not a regular file`);
      fs.renameSync(unpacked, target);
    }
    fs.rmSync(boot, { recursive: true, force: true });
    fs.writeFileSync(c.ready, image.digest ?? '');
  }

  consoleLog(instanceId: string): string {
    return path.join(this.o.consoleDir, `${instanceResourceName(instanceId)}.log`);
  }

  domainXml(spec: InstanceSpec): string {
    const c = this.imageCache(spec.image.id);
    return buildDomainXml({
      instanceId: spec.instanceId, domainType: this.o.domainType, vcpus: spec.vcpus, cpuset: spec.cpuset, memoryMb: spec.memoryMb,
      maxVcpus: spec.maxVcpus, maxMemoryMb: spec.maxMemoryMb, kernel: c.kernel, initrd: c.initrd, baseCmdline: spec.image.boot?.cmdline ?? 'console=ttyS0',
      disk: this.o.storage.diskFor(spec.instanceId), network: spec.network, hostname: spec.hostname,
      consoleLog: this.consoleLog(spec.instanceId),
    });
  }

  /** Disk from the template (with the instance's hostname and network written in), then the domain. */
  async create(spec: InstanceSpec): Promise<void> {
    if (await this.connect((hv) => this.lookup(hv, spec.instanceId))) return;
    if (spec.restore && !(await this.o.storage.exists(spec.instanceId))) {
      const file = path.join(this.o.workDir, `${instanceResourceName(spec.instanceId)}.restore`);
      try {
        await this.o.imageStore.fetch(spec.restore.location, file, spec.restore.digest);
        await this.o.storage.restoreDisk(spec.instanceId, spec.diskGb, file);
      } finally {
        fs.rmSync(file, { force: true });
      }
    }
    if (!(await this.o.storage.exists(spec.instanceId))) {
      const work = path.join(this.o.workDir, instanceResourceName(spec.instanceId));
      fs.rmSync(work, { recursive: true, force: true });
      try {
        await unpackTgz(this.imageCache(spec.image.id).tgz, work);
        writePersonality(work, { hostname: spec.hostname, ...spec.network });
        if (spec.authorizedKeys) writeAuthorizedKeys(work, spec.authorizedKeys);
        await this.o.storage.createDisk(spec.instanceId, spec.diskGb, work);
      } finally {
        fs.rmSync(work, { recursive: true, force: true });
      }
    }
    await this.connect((hv) => hv.domainDefineXML(this.domainXml(spec)));
  }

  async start(instanceId: string): Promise<void> {
    await this.connect(async (hv) => {
      const domain = await this.lookup(hv, instanceId);
      if (!domain) throw new Error(`domain of ${instanceId} is not defined`);
      const { state } = await hv.domainGetInfo(domain);
      if (state === RUNNING || state === BLOCKED) return;
      if (state === PAUSED) return hv.domainResume(domain);
      await hv.domainCreate(domain);
    });
  }

  /** Power off: the template has no ACPI handling, and a stop must not wait on a guest. */
  async stop(instanceId: string): Promise<void> {
    await this.connect(async (hv) => {
      const domain = await this.lookup(hv, instanceId);
      if (!domain) return;
      const { state } = await hv.domainGetInfo(domain);
      if (state === RUNNING || state === BLOCKED || state === PAUSED) await hv.domainDestroy(domain);
    });
  }

  async pause(instanceId: string): Promise<void> {
    await this.connect(async (hv) => {
      const domain = await this.lookup(hv, instanceId);
      if (domain && (await hv.domainGetInfo(domain)).state !== PAUSED) await hv.domainSuspend(domain);
    });
  }

  async resume(instanceId: string): Promise<void> {
    await this.connect(async (hv) => {
      const domain = await this.lookup(hv, instanceId);
      if (domain && (await hv.domainGetInfo(domain)).state === PAUSED) await hv.domainResume(domain);
    });
  }

  async destroy(instanceId: string): Promise<void> {
    await this.connect(async (hv) => {
      const domain = await this.lookup(hv, instanceId);
      if (!domain) return;
      const { state } = await hv.domainGetInfo(domain);
      if (state === RUNNING || state === BLOCKED || state === PAUSED) await hv.domainDestroy(domain);
      await hv.domainUndefine(domain).catch(async (err) => { if (await this.lookup(hv, instanceId)) throw err; });
    });
    await this.o.storage.removeDisk(instanceId);
    fs.rmSync(this.consoleLog(instanceId), { force: true });
    fs.rmSync(this.snapshotMarker(instanceId), { force: true });
  }

  /**
   * The disk as a compressed qcow2 in the image store. With the guest agent the filesystems are
   * frozen meanwhile (consistent); without it the domain is paused (crash-consistent). A marker
   * file says which until it is undone, so an agent that died in between undoes it when it returns
   * (endSnapshot, called by the snapshot's compensation and by the reconciler's repair).
   */
  async snapshot(instanceId: string, snapshotId: string): Promise<SnapshotResult> {
    const name = instanceResourceName(instanceId);
    // What an earlier attempt froze or paused (its agent died) is undone before this one starts.
    await this.endSnapshot(instanceId);
    let consistency: SnapshotResult['consistency'] = 'filesystem';
    if ((await this.inspect(instanceId)).running) {
      fs.writeFileSync(this.snapshotMarker(instanceId), 'frozen');
      await this.agent(instanceId, 'guest-fsfreeze-freeze').catch(async () => {
        consistency = 'crash';
        fs.writeFileSync(this.snapshotMarker(instanceId), 'paused');
        await this.pause(instanceId);
      });
    }
    const file = path.join(this.o.workDir, `${name}-${snapshotId}.qcow2`);
    try {
      await holdIfAsked('snapshot.frozen', undefined, stepContext.getStore()?.signal);
      // -f raw: the disk is guest-written; its format is never probed from its contents.
      await run('qemu-img', ['convert', '-U', '-f', 'raw', '-c', '-O', 'qcow2', this.o.storage.diskFor(instanceId).path, file], 600_000);
    } finally {
      await this.endSnapshot(instanceId);
    }
    try {
      const stored = await this.o.imageStore.put(snapshotNames.storeKey(snapshotId), fs.createReadStream(file));
      return { location: stored.location, digest: stored.digest, consistency };
    } finally {
      fs.rmSync(file, { force: true });
    }
  }

  async endSnapshot(instanceId: string): Promise<void> {
    const marker = this.snapshotMarker(instanceId);
    if (!fs.existsSync(marker)) return;
    const how = fs.readFileSync(marker, 'utf8');
    if (how === 'paused') await this.resume(instanceId);
    else if ((await this.inspect(instanceId)).running) {
      const status = await this.agent(instanceId, 'guest-fsfreeze-status').catch(() => 'thawed');
      if (status.includes('frozen')) await this.agent(instanceId, 'guest-fsfreeze-thaw');
    }
    fs.rmSync(marker, { force: true });
  }

  private snapshotMarker(instanceId: string): string {
    return path.join(this.o.workDir, `${instanceResourceName(instanceId)}.snapshot`);
  }

  private agent(instanceId: string, command: string): Promise<string> {
    return run('virsh', ['-c', this.o.uri, 'qemu-agent-command', '--timeout', '10', instanceResourceName(instanceId), JSON.stringify({ execute: command })], 20_000);
  }

  /** The NIC is part of the domain definition: on the network means its link is up. */
  async attachNetwork(spec: InstanceSpec): Promise<void> {
    await this.setLinks(spec.instanceId, 'up');
  }

  /** Off the network (fencing): the link of a running domain set down; nothing to do for one that is off. */
  async detachNetwork(instanceId: string): Promise<void> {
    await this.setLinks(instanceId, 'down');
  }

  private async setLinks(instanceId: string, state: 'up' | 'down'): Promise<void> {
    if (!(await this.inspect(instanceId)).running) return;
    for (const mac of await this.macs(instanceId)) {
      await run('virsh', ['-c', this.o.uri, 'domif-setlink', instanceResourceName(instanceId), mac, state]);
    }
  }

  private async macs(instanceId: string): Promise<string[]> {
    const out = await run('virsh', ['-c', this.o.uri, 'domiflist', instanceResourceName(instanceId)]);
    return [...out.matchAll(/([0-9a-f]{2}(?::[0-9a-f]{2}){5})/g)].map((m) => m[1]);
  }

  /** A running domain is on the network when every link is up. */
  private async linksUp(instanceId: string): Promise<boolean> {
    for (const mac of await this.macs(instanceId)) {
      const out = await run('virsh', ['-c', this.o.uri, 'domif-getlink', instanceResourceName(instanceId), mac]);
      if (!/\bup\b/.test(out)) return false;
    }
    return true;
  }

  /**
   * Live where the domain allows it: running, the disk big enough, no vCPU to unplug and both within the maxima
   * the domain was defined with (the spec's): vCPUs hot-plugged and each pinned to the new cpuset, memory moved
   * by the balloon (`setvcpus`, `vcpupin`, `setmem`, each on the live domain and its configuration). Otherwise
   * cold: powered off, its disk and ext4 grown while unused, redefined with the spec's size and maxima, started
   * again if `running`. A domain that already matches changes nothing (a retried step after it ended).
   */
  async resize(spec: InstanceSpec, running: boolean): Promise<{ diskGb: number | null }> {
    const { instanceId } = spec;
    const dom = instanceResourceName(instanceId);
    const now = await this.connect(async (hv) => {
      const domain = await this.lookup(hv, instanceId);
      if (!domain) return null;
      return { info: await hv.domainGetInfo(domain), detail: domainDetail(await hv.domainGetXMLDesc(domain, 2 as never)) };
    });
    if (!now) throw new PermanentDriverError(`domain of ${instanceId} is not defined`);
    const live = [RUNNING, BLOCKED, PAUSED].includes(now.info.state);
    const d = now.detail;
    const maxVcpus = Math.max(spec.vcpus, spec.maxVcpus ?? 0);
    const maxMemoryMb = Math.max(spec.memoryMb, spec.maxMemoryMb ?? 0);
    const cpuset = [...spec.cpuset].sort((a, b) => a - b);
    const sameMaxima = d.maxVcpus === maxVcpus && d.maxMemoryMb === maxMemoryMb;
    const diskFits = (await this.o.storage.diskGb(instanceId)) >= spec.diskGb;
    const same = sameMaxima && diskFits && d.vcpus === spec.vcpus && d.memoryMb === spec.memoryMb && d.cpuset.join(',') === cpuset.join(',');
    if (live && same) return { diskGb: await this.o.storage.diskGb(instanceId) };
    if (live && running && sameMaxima && diskFits && d.vcpus <= spec.vcpus && Boolean(spec.maxMemoryMb)) {
      const virsh = (...args: string[]) => run('virsh', ['-c', this.o.uri, ...args], 120_000);
      if (d.vcpus !== spec.vcpus) await virsh('setvcpus', dom, String(spec.vcpus), '--live', '--config');
      for (let i = 0; i < maxVcpus; i++) {
        await virsh('vcpupin', dom, String(i), String(spec.cpuset[i % spec.cpuset.length]), ...(i < spec.vcpus ? ['--live', '--config'] : ['--config']));
      }
      if (d.memoryMb !== spec.memoryMb) await virsh('setmem', dom, `${spec.memoryMb * 1024}`, '--live', '--config');
      return { diskGb: await this.o.storage.diskGb(instanceId) };
    }
    if (!same || !live) {
      if (live) await this.stop(instanceId);
      // Unused now: the filesystem is checked and grown even when the disk already is (a step stopped between the two).
      await this.o.storage.growDisk(instanceId, spec.diskGb);
      await this.connect((hv) => hv.domainDefineXML(this.domainXml(spec)));
    }
    if (running) await this.start(instanceId);
    return { diskGb: await this.o.storage.diskGb(instanceId) };
  }

  async inspect(instanceId: string): Promise<InstanceStatus> {
    return this.connect(async (hv) => {
      const domain = await this.lookup(hv, instanceId);
      if (!domain) return { exists: false, running: false, paused: false, state: 'absent' };
      const info = await hv.domainGetInfo(domain);
      const state = info.state === RUNNING || info.state === BLOCKED ? 'running' : info.state === PAUSED ? 'paused' : 'shutoff';
      return { exists: true, running: state === 'running', paused: state === 'paused', state, memoryBytes: info.maxMem * 1024 };
    });
  }

  /** Domains named vc-*, and disks whose domain is gone. */
  async inventory(detail: boolean): Promise<EngineObject[]> {
    const objects = await this.connect(async (hv) => {
      const found: EngineObject[] = [];
      for (const domain of await hv.connectListAllDomains()) {
        const name = await hv.domainGetName(domain);
        if (!name.startsWith('vc-')) continue;
        const instanceId = name.slice(3);
        const info = await hv.domainGetInfo(domain);
        const state = info.state === RUNNING || info.state === BLOCKED ? 'running' : info.state === PAUSED ? 'paused' : 'stopped';
        const attached = state !== 'running' || (await this.linksUp(instanceId).catch(() => true));
        const o: EngineObject = { instanceId, kind: 'kvm', state, attached, frozen: fs.existsSync(this.snapshotMarker(instanceId)) };
        // The defined configuration (INACTIVE): a live balloon lags its target for a few seconds after a boot or a resize.
        if (detail) o.detail = domainDetail(await hv.domainGetXMLDesc(domain, 2 as never));
        found.push(o);
      }
      return found;
    });
    const seen = new Set(objects.map((o) => o.instanceId));
    for (const instanceId of await this.o.storage.list()) {
      if (!seen.has(instanceId)) objects.push({ instanceId, kind: 'kvm', state: 'absent', attached: false, frozen: false });
    }
    return objects;
  }

  /** Every running domain in one `virsh domstats` call (libvirt's bulk statistics), ours by name. */
  async sampleAll(): Promise<Map<string, RawSample>> {
    const text = await run('virsh', ['-c', this.o.uri, 'domstats', '--raw', '--list-running', '--state', '--cpu-total', '--balloon', '--block', '--interface'], 15_000);
    const out = new Map<string, RawSample>();
    for (const [name, sample] of parseDomstats(text)) {
      const id = /^vc-([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/.exec(name)?.[1];
      if (id) out.set(id, sample);
    }
    return out;
  }
}

/** The limits and the address a defined domain really has, read from its XML. */
export function domainDetail(xml: string): NonNullable<EngineObject['detail']> & { vcpus: number; maxVcpus: number; maxMemoryMb: number } {
  const kib = (tag: string) => Number(new RegExp(`<${tag} unit='KiB'>(\\d+)</${tag}>`).exec(xml)?.[1] ?? 0);
  const vcpu = /<vcpu([^>]*)>(\d+)<\/vcpu>/.exec(xml);
  const maxVcpus = Number(vcpu?.[2] ?? 0);
  const vcpus = Number(/current='(\d+)'/.exec(vcpu?.[1] ?? '')?.[1] ?? maxVcpus);
  // The CPUs the vCPUs that are on are pinned to (a live resize pins them anew); else the domain's default.
  const pins = [...xml.matchAll(/<vcpupin vcpu='(\d+)' cpuset='([^']+)'\/>/g)].filter((m) => Number(m[1]) < vcpus).flatMap((m) => parseCpuList(m[2]));
  const cpuset = pins.length ? [...new Set(pins)].sort((a, b) => a - b) : parseCpuList(/<vcpu[^>]*cpuset='([^']+)'/.exec(xml)?.[1] ?? '');
  return {
    ip: /ip=(\d+\.\d+\.\d+\.\d+)::/.exec(xml)?.[1] ?? null,
    cpuset,
    memoryMb: Math.round((kib('currentMemory') || kib('memory')) / 1024),
    vcpus, maxVcpus, maxMemoryMb: Math.round(kib('memory') / 1024),
  };
}
