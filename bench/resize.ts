import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import crypto from 'node:crypto';
import { platformClient } from './platform-client';
import { run, runAllowing } from '../host/run';
import { buildDomainXml } from '../drivers/domain-xml';
import { DirStorage } from '../storage/dir-storage';
import { unpackTgz, writePersonality } from '../host/rootfs';
import { macFromIp } from '../lib/net';
import { intArg, percentile, writeResult } from './stats';

// Resize through the API (POST to the operation's finishedAt) against the engine's own commands in the
// same run: a container's live change (`docker update`), a VM's live one (`virsh setmem` through the
// balloon) and its cold one (power off, a bigger disk, check and grow the filesystem, redefine, start:
// what the libvirt driver does). Against the platform `npm run up` started.
const { config, manifest, api, settle } = platformClient(20);
const N = intArg('n', 5, 20);
const DOCKER = ['--host', 'unix:///var/run/docker.sock'];
const URI = 'qemu:///system';

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t0 = Date.now();
  await fn();
  return Date.now() - t0;
}

async function viaApi(id: string, sizes: object[]): Promise<number[]> {
  const out: number[] = [];
  for (const size of sizes) {
    const t0 = Date.now();
    const { operation } = await api('POST', `/v1/instances/${id}/resize`, size);
    const op = await settle(operation.id, 50);
    if (op.state !== 'succeeded') throw new Error(`resize of ${id} failed: ${op.error}`);
    out.push(Date.parse(op.finishedAt) - t0);
  }
  return out;
}

async function containers(tag: string) {
  const memories = Array.from({ length: N }, (_, i) => (i % 2 === 0 ? 96 : 64));
  const name = `bench-resize-${tag}`;
  await run('docker', [...DOCKER, 'run', '-d', '--name', name, '--net=none', '--memory', '64m', '--memory-swap', '64m', manifest.docker.location, 'sleep', '3600']);
  const raw: number[] = [];
  try {
    for (const mb of memories) raw.push(await timed(() => run('docker', [...DOCKER, 'update', '--memory', `${mb}m`, '--memory-swap', `${mb}m`, name])));
  } finally {
    await run('docker', [...DOCKER, 'rm', '-f', name]).catch(() => undefined);
  }
  const { instance, operation } = await api('POST', '/v1/instances', { name: `rs-c-${tag}`, zone: 'default', kind: 'docker', image: 'busybox', vcpus: 1, memoryMb: 64 });
  if ((await settle(operation.id)).state !== 'succeeded') throw new Error('container create failed');
  try {
    return { api: await viaApi(instance.id, memories.map((memoryMb) => ({ memoryMb }))), raw };
  } finally {
    await settle((await api('DELETE', `/v1/instances/${instance.id}`)).operation.id);
  }
}

/** A VM: live (memory through the balloon) against `virsh setmem`, and cold (a disk 1 GB bigger) against its commands by hand. */
async function vms(tag: string) {
  const rounds = Math.min(N, 5);
  const memories = Array.from({ length: rounds }, (_, i) => (i % 2 === 0 ? 224 : 192));
  const work = path.join(config.dataDir, 'bench-resize');
  fs.rmSync(work, { recursive: true, force: true });
  fs.mkdirSync(work, { recursive: true });
  const storage = new DirStorage(path.join(work, 'disks'));
  const boot = path.join(work, 'boot');
  await unpackTgz(manifest.vm.location, boot);
  const id = crypto.randomUUID();
  const ip = '10.213.1.10';
  const root = path.join(work, 'root');
  await unpackTgz(manifest.vm.location, root);
  writePersonality(root, { hostname: 'bench-resize', ip, prefix: 24, gateway: '10.213.1.1', mac: macFromIp(ip) });
  await storage.createDisk(id, 1, root);
  const xml = (memoryMb: number) => buildDomainXml({
    instanceId: id, domainType: 'qemu', vcpus: 1, cpuset: [0], memoryMb, maxVcpus: 2, maxMemoryMb: 384,
    kernel: path.join(boot, 'boot/vmlinuz'), initrd: path.join(boot, 'boot/initrd.img'), baseCmdline: 'console=ttyS0',
    disk: storage.diskFor(id), network: { bridge: 'vcbr0', ip, gateway: '10.213.1.1', prefix: 24, mac: macFromIp(ip) },
    hostname: 'bench-resize', consoleLog: path.join(work, 'console.log'),
  });
  const xmlFile = path.join(work, 'domain.xml');
  const disk = storage.diskFor(id).path;
  const raw = { live: [] as number[], cold: [] as number[] };
  try {
    fs.writeFileSync(xmlFile, xml(192));
    await run('virsh', ['-c', URI, 'define', xmlFile]);
    await run('virsh', ['-c', URI, 'start', `vc-${id}`]);
    for (const mb of memories) raw.live.push(await timed(() => run('virsh', ['-c', URI, 'setmem', `vc-${id}`, `${mb * 1024}`, '--live', '--config'])));
    for (let i = 0; i < rounds; i++) {
      raw.cold.push(await timed(async () => {
        await run('virsh', ['-c', URI, 'destroy', `vc-${id}`]);
        await run('qemu-img', ['resize', '-f', 'raw', disk, `${2 + i}G`]);
        await runAllowing('e2fsck', ['-f', '-y', disk], [1]);
        await run('resize2fs', [disk]);
        await run('virsh', ['-c', URI, 'define', xmlFile]);
        await run('virsh', ['-c', URI, 'start', `vc-${id}`]);
      }));
    }
  } finally {
    await run('virsh', ['-c', URI, 'destroy', `vc-${id}`]).catch(() => undefined);
    await run('virsh', ['-c', URI, 'undefine', `vc-${id}`]).catch(() => undefined);
    fs.rmSync(work, { recursive: true, force: true });
  }
  const { instance, operation } = await api('POST', '/v1/instances', { name: `rs-v-${tag}`, zone: 'default', kind: 'kvm', image: 'busybox-vm', vcpus: 1, memoryMb: 192 });
  if ((await settle(operation.id)).state !== 'succeeded') throw new Error('VM create failed');
  try {
    const live = await viaApi(instance.id, memories.map((memoryMb) => ({ memoryMb })));
    const cold = await viaApi(instance.id, Array.from({ length: rounds }, (_, i) => ({ diskGb: 2 + i })));
    return { live: { api: live, raw: raw.live }, cold: { api: cold, raw: raw.cold } };
  } finally {
    await settle((await api('DELETE', `/v1/instances/${instance.id}`)).operation.id);
  }
}

async function main() {
  const tag = Date.now().toString(36);
  const summary = (r: { api: number[]; raw: number[] }) => ({
    apiP50Ms: percentile(r.api, 50), rawP50Ms: percentile(r.raw, 50), ratio: +(percentile(r.api, 50) / percentile(r.raw, 50)).toFixed(2), api: r.api, raw: r.raw,
  });
  const container = summary(await containers(tag));
  const vm = await vms(tag);
  const vmLive = summary(vm.live);
  const vmCold = summary(vm.cold);
  const machine = { cores: os.cpus().length, kernel: os.release() };
  const file = writeResult('resize', { benchmark: 'resize', at: new Date().toISOString(), machine, n: N, domainType: 'qemu (TCG)', containerLive: container, vmLive, vmCold });
  console.log(`container, live: API p50 ${container.apiP50Ms} ms, docker update p50 ${container.rawP50Ms} ms, ratio ${container.ratio}`);
  console.log(`VM, live:        API p50 ${vmLive.apiP50Ms} ms, virsh setmem p50 ${vmLive.rawP50Ms} ms, ratio ${vmLive.ratio}`);
  console.log(`VM, cold (+1 GB disk): API p50 ${vmCold.apiP50Ms} ms, destroy+qemu-img+fsck+resize2fs+define+start p50 ${vmCold.rawP50Ms} ms, ratio ${vmCold.ratio}`);
  console.log(`written to ${file}`);
}

main().catch((err) => { console.error(err); process.exit(1); });
