import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { platformClient } from './platform-client';
import { run } from '../host/run';
import { buildDomainXml } from '../drivers/domain-xml';
import { DirStorage } from '../storage/dir-storage';
import { unpackTgz, writePersonality } from '../host/rootfs';
import { macFromIp } from '../lib/net';
import { intArg, percentile, writeResult } from './stats';

// N VM creates through the API (POST to the operation's finishedAt, then to the first ping)
// against the same N done directly: `virsh create` of the same domain XML on a disk prepared
// beforehand. Runs against the platform `npm run up` started (host local-1, TCG guests).
const { config, manifest, api, settle, checkDeadline } = platformClient(20);
const N = intArg('n', 5, 50);
const URI = 'qemu:///system';


/** Pings only the platform's bridge (the zone default, or the bench's own subnet on it). */
async function untilPing(ip: string, t0: number): Promise<number> {
  if (!ip.startsWith('10.213.')) throw new Error(`refusing to ping ${ip}`);
  for (;;) {
    checkDeadline();
    if (await run('ping', ['-c', '1', '-W', '1', '-I', 'vcbr0', ip], 5000).then(() => true, () => false)) return Date.now() - t0;
  }
}


async function main() {
  const tag = Date.now().toString(36);
  const work = path.join(config.dataDir, 'bench-vms');
  fs.rmSync(work, { recursive: true, force: true });
  fs.mkdirSync(work, { recursive: true });
  const storage = new DirStorage(path.join(work, 'disks'));
  const boot = path.join(work, 'boot');
  await unpackTgz(manifest.vm.location, boot);

  // Direct: disks prepared first, then only `virsh create` is timed (and the boot to ping).
  await run('ip', ['addr', 'replace', '10.213.1.1/24', 'dev', 'vcbr0']);
  const direct: { startMs: number; pingMs: number }[] = [];
  try {
    for (let i = 0; i < N; i++) {
      const id = crypto.randomUUID();
      const ip = `10.213.1.${10 + i}`;
      const root = path.join(work, `root-${i}`);
      await unpackTgz(manifest.vm.location, root);
      writePersonality(root, { hostname: `bench-${i}`, ip, prefix: 24, gateway: '10.213.1.1', mac: macFromIp(ip) });
      await storage.createDisk(id, 1, root);
      fs.rmSync(root, { recursive: true, force: true });
      const xmlFile = path.join(work, `${id}.xml`);
      fs.writeFileSync(xmlFile, buildDomainXml({
        instanceId: id, domainType: 'qemu', vcpus: 1, cpuset: [i % 2], memoryMb: 192,
        kernel: path.join(boot, 'boot/vmlinuz'), initrd: path.join(boot, 'boot/initrd.img'), baseCmdline: 'console=ttyS0',
        disk: storage.diskFor(id), network: { bridge: 'vcbr0', ip, gateway: '10.213.1.1', prefix: 24, mac: macFromIp(ip) },
        hostname: `bench-${i}`, consoleLog: path.join(work, `${id}.log`),
      }));
      const t0 = Date.now();
      await run('virsh', ['-c', URI, 'create', xmlFile]);
      const startMs = Date.now() - t0;
      const pingMs = await untilPing(ip, t0);
      direct.push({ startMs, pingMs });
      await run('virsh', ['-c', URI, 'destroy', `vc-${id}`]);
      await storage.removeDisk(id);
    }
  } finally {
    await run('ip', ['addr', 'del', '10.213.1.1/24', 'dev', 'vcbr0']).catch(() => undefined);
  }

  const viaApi: { startMs: number; pingMs: number }[] = [];
  for (let i = 0; i < N; i++) {
    const t0 = Date.now();
    const { instance, operation } = await api('POST', '/v1/instances', {
      name: `benchvm-${tag}-${i}`, zone: 'default', kind: 'kvm', image: 'busybox-vm', vcpus: 1, memoryMb: 192,
    });
    const op = await settle(operation.id);
    if (op.state !== 'succeeded') throw new Error(`create ${instance.id} failed: ${op.error}`);
    const startMs = Date.parse(op.finishedAt) - t0;
    const ip = (await api('GET', `/v1/instances/${instance.id}`)).ip;
    const pingMs = await untilPing(ip, t0);
    viaApi.push({ startMs, pingMs });
    await settle((await api('DELETE', `/v1/instances/${instance.id}`)).operation.id);
  }
  fs.rmSync(work, { recursive: true, force: true });

  const sum = (runs: { startMs: number; pingMs: number }[]) => ({
    startP50Ms: percentile(runs.map((r) => r.startMs), 50), startP95Ms: percentile(runs.map((r) => r.startMs), 95),
    pingP50Ms: percentile(runs.map((r) => r.pingMs), 50), pingP95Ms: percentile(runs.map((r) => r.pingMs), 95),
  });
  const result = { benchmark: 'create-vms', at: new Date().toISOString(), n: N, domainType: 'qemu (TCG)', api: sum(viaApi), direct: sum(direct) };
  const ratio = { startP50: +(result.api.startP50Ms / result.direct.startP50Ms).toFixed(2), pingP50: +(result.api.pingP50Ms / result.direct.pingP50Ms).toFixed(2) };
  console.log(`through the API: running p50 ${result.api.startP50Ms} ms (p95 ${result.api.startP95Ms}), answering ping p50 ${result.api.pingP50Ms} ms (p95 ${result.api.pingP95Ms})`);
  console.log(`virsh create:    running p50 ${result.direct.startP50Ms} ms (p95 ${result.direct.startP95Ms}), answering ping p50 ${result.direct.pingP50Ms} ms (p95 ${result.direct.pingP95Ms})`);
  console.log(`ratio: running ${ratio.startP50}, ping ${ratio.pingP50}; written to ${writeResult('create-vms', { ...result, ratio })}`);
}

main().catch((err) => { console.error(err); process.exit(1); });
