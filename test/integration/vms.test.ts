import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { Knex } from 'knex';
import { apiClient, assertAddressInvariants, createBody, pings, testDb, waitForOperation, waitUntil, type ApiClient } from '../helpers/platform';
import { DATA, HOST_A, HOST_B, TEST_STORE } from '../helpers/env';
import { run } from '../../host/run';
import { sha256File } from '../../images/image-store';
import { upsertImage } from '../../db/images';
import { DirStorage } from '../../storage/dir-storage';
import { PermanentDriverError } from '../../drivers/instance-driver';

const virsh = (...args: string[]) => run('virsh', ['-c', HOST_A.libvirtUri, ...args]);
const domainExists = (id: string) => virsh('dominfo', `vc-${id}`).then(() => true, () => false);
const diskOf = (id: string, host = HOST_A) => path.join(DATA, 'disks', host.id, `vc-${id}.raw`);
/** Whether a (1 GB) disk image holds the text anywhere, read by grep rather than into memory. */
const contains = (file: string, text: string) => new Promise<boolean>((resolve, reject) => {
  execFile('grep', ['-q', '-a', '-F', '--', text, file], { timeout: 300_000 }, (err) => {
    if (!err) resolve(true);
    else if (err.code === 1) resolve(false);
    else reject(err);
  });
});
function firstBytes(file: string, n = 4): string {
  const fd = fs.openSync(file, 'r');
  try {
    const buf = Buffer.alloc(n);
    fs.readSync(fd, buf, 0, n, 0);
    return buf.toString('latin1');
  } finally {
    fs.closeSync(fd);
  }
}

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

  // The class of CVE-2024-32498: a raw disk is guest-writable, so its first bytes can be a qcow2
  // header naming a host file as its backing file. A qemu-img that probed the format would read that
  // file into the snapshot, and onto the disk of every copy restored from it.
  test('a guest-written qcow2 header naming a host file: its snapshot and a disk restored from it hold no byte of that file', async () => {
    const secret = path.join(DATA, `host-secret-${process.pid}`);
    const token = `HOST-SECRET-${Date.now().toString(36)}-`.padEnd(64, 'x');
    fs.writeFileSync(secret, token.repeat(2048));
    const header = path.join(DATA, `guest-header-${process.pid}.qcow2`);
    try {
      await run('qemu-img', ['create', '-f', 'qcow2', '-b', secret, '-F', 'raw', header, '1G']);
      const res = await admin.post('/v1/instances', createBody('vm-hostile', { kind: 'kvm', image: 'busybox-vm', memoryMb: 160, host: HOST_A.id }));
      expect(await waitForOperation(admin, res.body.operation.id)).toMatchObject({ state: 'succeeded' });
      const id = res.body.instance.id;
      const stop = await admin.post(`/v1/instances/${id}/actions`, { action: 'stop' });
      expect(await waitForOperation(admin, stop.body.operation.id)).toMatchObject({ state: 'succeeded' });
      // What the guest could have written to its own block device.
      await run('dd', [`if=${header}`, `of=${diskOf(id)}`, 'conv=notrunc', 'status=none']);
      expect((await run('qemu-img', ['info', '--output=json', diskOf(id)]))).toContain('"backing-filename"');

      const snap = await admin.post(`/v1/instances/${id}/snapshots`);
      expect(await waitForOperation(admin, snap.body.operation.id)).toMatchObject({ state: 'succeeded' });
      const row = await db('snapshots').where({ id: snap.body.snapshot.id }).first();
      const info = JSON.parse(await run('qemu-img', ['info', '--output=json', '-f', 'qcow2', row.location]));
      expect(info['backing-filename']).toBeUndefined();
      const unpacked = path.join(DATA, `snapshot-${process.pid}.raw`);
      await run('qemu-img', ['convert', '-f', 'qcow2', '-O', 'raw', row.location, unpacked], 300_000);
      expect(firstBytes(unpacked)).toBe('QFI\xfb'); // the guest's data, kept as data
      expect(await contains(unpacked, token.slice(0, 24))).toBe(false);
      fs.rmSync(unpacked, { force: true });

      // Restored on the other host from that snapshot: still the guest's bytes, never the host's.
      const move = await admin.post(`/v1/instances/${id}/migrate`, { host: HOST_B.id, snapshot: 'latest' });
      expect(await waitForOperation(admin, move.body.operation.id, 180_000)).toMatchObject({ state: 'succeeded' });
      expect(firstBytes(diskOf(id, HOST_B))).toBe('QFI\xfb');
      expect(await contains(diskOf(id, HOST_B), token.slice(0, 24))).toBe(false);
      const del = await admin.del(`/v1/instances/${id}`);
      expect(await waitForOperation(admin, del.body.operation.id)).toMatchObject({ state: 'succeeded' });
    } finally {
      fs.rmSync(secret, { force: true });
      fs.rmSync(header, { force: true });
    }
  });

  test('a snapshot image that names a backing or data file is refused on restore, and leaves no disk', async () => {
    const dir = path.join(DATA, `restore-check-${process.pid}`);
    const storage = new DirStorage(dir);
    const image = path.join(dir, 'hostile.qcow2');
    try {
      await run('qemu-img', ['create', '-f', 'qcow2', '-b', '/etc/hostname', '-F', 'raw', image, '64M']);
      const refused = await storage.restoreDisk('0f8fad5b-d9cb-469f-a165-70867728950e', 1, image).catch((err: unknown) => err);
      expect(refused).toBeInstanceOf(PermanentDriverError);
      expect((refused as Error).message).toMatch(/backing or data file/);
      expect(await storage.list()).toEqual([]);
      fs.rmSync(image);
      await run('qemu-img', ['create', '-f', 'qcow2', '-o', `data_file=${path.join(dir, 'data.raw')}`, image, '64M']);
      await expect(storage.restoreDisk('0f8fad5b-d9cb-469f-a165-70867728950e', 1, image)).rejects.toThrow(/backing or data file/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
