import fs from 'node:fs';
import path from 'node:path';
import type { Knex } from 'knex';
import { apiClient, assertAddressInvariants, createBody, pings, testDb, waitForOperation, waitUntil, type ApiClient } from '../helpers/platform';
import { DATA, HOST_A, TEST_STORE } from '../helpers/env';
import { run } from '../../host/run';
import { sha256File } from '../../images/image-store';
import { upsertImage } from '../../db/images';

const virsh = (...args: string[]) => run('virsh', ['-c', HOST_A.libvirtUri, ...args]);
const domainExists = (id: string) => virsh('dominfo', `vc-${id}`).then(() => true, () => false);
const diskOf = (id: string) => path.join(DATA, 'disks', HOST_A.id, `vc-${id}.raw`);

/**
 * The VM template plus more files than a 1 GB ext4 filesystem has inodes (65,536): its rootfs
 * cannot fit on the smallest disk, which the host finds only when it builds the disk.
 */
async function tooManyFilesImage(): Promise<string> {
  const cached = path.join(DATA, 'cache', 'too-many-files.tgz');
  const out = path.join(TEST_STORE, 'too-many-files.tgz');
  if (!fs.existsSync(cached)) await makeTooManyFiles(cached);
  if (!fs.existsSync(out)) fs.linkSync(cached, out);
  return out;
}

async function makeTooManyFiles(out: string): Promise<void> {
  fs.mkdirSync(path.dirname(out), { recursive: true });
  const dir = path.join(DATA, 'tmp-too-many-files');
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  await run('tar', ['-xzf', path.join(DATA, 'images', 'busybox-vm.tgz'), '-C', dir]);
  for (let d = 0; d < 70; d++) {
    const sub = path.join(dir, 'bulk', String(d));
    fs.mkdirSync(sub, { recursive: true });
    for (let f = 0; f < 1000; f++) fs.writeFileSync(path.join(sub, String(f)), '');
  }
  await run('tar', ['-C', dir, '--numeric-owner', '-czf', `${out}.partial`, '.'], 300_000);
  fs.renameSync(`${out}.partial`, out);
  fs.rmSync(dir, { recursive: true, force: true });
}

describe('KVM virtual machines through libvirt (TCG here)', () => {
  let admin: ApiClient;
  let db: Knex;
  beforeAll(() => { admin = apiClient(); db = testDb(); });
  afterAll(() => db.destroy());

  test('a VM boots from the template and answers ping at its IP; delete removes domain and disk and frees the IP', async () => {
    const res = await admin.post('/v1/instances', createBody('vm-1', { kind: 'kvm', image: 'busybox-vm', memoryMb: 192, app: 'vm', host: HOST_A.id }));
    expect(res.status).toBe(202);
    expect(res.body.instance.diskGb).toBe(1);
    const op = await waitForOperation(admin, res.body.operation.id);
    expect(op).toMatchObject({ state: 'succeeded', hostId: HOST_A.id });
    const vm = (await admin.get(`/v1/instances/${res.body.instance.id}`)).body;
    expect(vm).toMatchObject({ kind: 'kvm', state: 'running' });
    const xml = await virsh('dumpxml', `vc-${vm.id}`);
    expect(xml).toContain(`<mac address='${vm.mac}'/>`);
    expect(xml).toContain(`ip=${vm.ip}::10.214.0.1:255.255.255.0:${vm.hostname}:eth0:off`);
    expect(xml).toContain(`<vcpupin vcpu='0' cpuset='${vm.cpuset[0]}'/>`);
    expect(xml).toMatch(/<domain type='qemu'/);
    expect(fs.existsSync(diskOf(vm.id))).toBe(true);
    await waitUntil(`VM ${vm.ip} to answer ping`, () => pings(vm.ip), 90_000);
    // The disk carries the instance's identity too.
    const etc = await run('debugfs', ['-R', 'cat /etc/hostname', diskOf(vm.id)]);
    expect(etc.trim()).toBe(vm.hostname);

    const del = await admin.del(`/v1/instances/${vm.id}`);
    expect((await waitForOperation(admin, del.body.operation.id)).state).toBe('succeeded');
    expect(await domainExists(vm.id)).toBe(false);
    expect(fs.existsSync(diskOf(vm.id))).toBe(false);
    expect(await db('ip_addresses').where({ address: vm.ip }).first()).toMatchObject({ state: 'free', instance_id: null });
    expect(await pings(vm.ip)).toBe(false);
    await assertAddressInvariants(db);
  });

  test('a VM create that fails half way (the rootfs does not fit the disk) leaves no disk, no domain, the IP free, and says why', async () => {
    const file = await tooManyFilesImage();
    const vmImage = await db('images').where({ name: 'busybox-vm' }).first();
    await upsertImage(db, { name: 'too-many-files', kind: 'tgz', location: file, digest: await sha256File(file), size_bytes: 10_000_000, boot: vmImage.boot });
    const res = await admin.post('/v1/instances', createBody('vm-too-small', { kind: 'kvm', image: 'too-many-files', diskGb: 1, host: HOST_A.id }));
    expect(res.status).toBe(202);
    const op = await waitForOperation(admin, res.body.operation.id);
    expect(op.state).toBe('failed');
    expect(op.error).toMatch(/does not fit on a 1 GB disk/);
    const id = res.body.instance.id;
    expect((await admin.get(`/v1/instances/${id}`)).body).toMatchObject({ state: 'failed', ip: null });
    expect(await domainExists(id)).toBe(false);
    expect(fs.existsSync(diskOf(id))).toBe(false);
    expect(fs.existsSync(`${diskOf(id)}.partial`)).toBe(false);
    expect(fs.existsSync(path.join(DATA, 'work', HOST_A.id, `vc-${id}`))).toBe(false);
    expect(await db('ip_addresses').where({ instance_id: id })).toHaveLength(0);
  });

  test('bad VM input: an image without a kernel, a disk below the image size -> 400, nothing written', async () => {
    const before = (await db('instances')).length;
    const noKernel = await admin.post('/v1/instances', createBody('vm-bad', { kind: 'kvm', image: 'busybox-tgz' }));
    expect(noKernel.status).toBe(400);
    expect(noKernel.body.errors).toEqual([{ path: 'image', message: 'has no kernel' }]);
    const vmImage = await db('images').where({ name: 'busybox-vm' }).first();
    await upsertImage(db, { name: 'big-vm', kind: 'tgz', location: vmImage.location, digest: vmImage.digest, size_bytes: 5 * 2 ** 30, boot: vmImage.boot });
    const small = await admin.post('/v1/instances', createBody('vm-bad', { kind: 'kvm', image: 'big-vm', diskGb: 2 }));
    expect(small.status).toBe(400);
    expect(small.body.errors).toEqual([{ path: 'diskGb', message: 'must be at least 5' }]);
    const dockerFromVm = await admin.post('/v1/instances', createBody('vm-bad', { kind: 'docker', image: 'busybox-vm' }));
    expect(dockerFromVm.status).toBe(400);
    expect((await db('instances')).length).toBe(before);
  });
});
