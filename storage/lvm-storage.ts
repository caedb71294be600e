import { run } from '../host/run';
import { PermanentDriverError, instanceResourceName } from '../drivers/instance-driver';
import { diskOwner, growFsCommands, mkfsArgs, type StorageDriver } from './storage-driver';
import { checkSnapshotImage, lastLine, runFsck } from './dir-storage';

const VG = /^[a-zA-Z0-9+_.-]{1,64}$/;

/** Pure: the commands the lvm driver runs, in order, so they are tested where LVM cannot run. */
export const lvmCommands = {
  exists: (vg: string, id: string): string[] => ['lvs', '--noheadings', '-o', 'lv_name', `${vg}/${instanceResourceName(id)}`],
  create: (vg: string, id: string, sizeGb: number, rootfsDir: string): string[][] => [
    ['lvcreate', '--yes', '--wipesignatures', 'y', '-L', `${sizeGb}G`, '-n', instanceResourceName(id), vg],
    ['mkfs.ext4', ...mkfsArgs(rootfsDir), `/dev/${vg}/${instanceResourceName(id)}`],
  ],
  restore: (vg: string, id: string, sizeGb: number, image: string): string[][] => [
    ['lvcreate', '--yes', '--wipesignatures', 'y', '-L', `${sizeGb}G`, '-n', instanceResourceName(id), vg],
    ['qemu-img', 'convert', '-n', '-f', 'qcow2', '-O', 'raw', image, `/dev/${vg}/${instanceResourceName(id)}`],
    // A snapshot restored onto a bigger volume (a resize that moves) fills it.
    ...growFsCommands(`/dev/${vg}/${instanceResourceName(id)}`),
  ],
  list: (vg: string): string[] => ['lvs', '--noheadings', '-o', 'lv_name', vg],
  remove: (vg: string, id: string): string[] => ['lvremove', '--yes', `${vg}/${instanceResourceName(id)}`],
  size: (vg: string, id: string): string[] => ['lvs', '--noheadings', '--units', 'b', '--nosuffix', '-o', 'lv_size', `${vg}/${instanceResourceName(id)}`],
  /** lvextend only when the volume is smaller (it refuses a size equal to the current one); then the filesystem. */
  grow: (vg: string, id: string, sizeGb: number, currentBytes: number): string[][] => [
    ...(currentBytes < sizeGb * 2 ** 30 ? [['lvextend', '-L', `${sizeGb}G`, `${vg}/${instanceResourceName(id)}`]] : []),
    ...growFsCommands(`/dev/${vg}/${instanceResourceName(id)}`),
  ],
};

/** A logical volume per disk in one volume group (local SSD in production). */
export class LvmStorage implements StorageDriver {
  readonly name = 'lvm' as const;
  constructor(private readonly vg: string, private readonly exec: (file: string, args: string[]) => Promise<string> = run) {
    if (!VG.test(vg)) throw new Error(`bad volume group name ${vg}`);
  }

  diskFor(instanceId: string) {
    return { type: 'block' as const, path: `/dev/${this.vg}/${instanceResourceName(instanceId)}` };
  }

  async exists(instanceId: string): Promise<boolean> {
    const [file, ...args] = lvmCommands.exists(this.vg, instanceId);
    return this.exec(file, args).then(() => true, () => false);
  }

  async createDisk(instanceId: string, sizeGb: number, rootfsDir: string): Promise<void> {
    await this.make(instanceId, lvmCommands.create(this.vg, instanceId, sizeGb, rootfsDir), sizeGb);
  }

  async restoreDisk(instanceId: string, sizeGb: number, image: string): Promise<void> {
    await checkSnapshotImage(image);
    await this.make(instanceId, lvmCommands.restore(this.vg, instanceId, sizeGb, image), sizeGb);
  }

  /** A volume that exists is whole: a failed fill removes it before the error goes up. */
  private async make(instanceId: string, commands: string[][], sizeGb: number): Promise<void> {
    if (await this.exists(instanceId)) return;
    const [[lvcreate, ...createArgs], ...rest] = commands;
    await this.exec(lvcreate, createArgs);
    try {
      for (const [file, ...args] of rest) await runFsck(file, args, this.exec);
    } catch (err) {
      await this.removeDisk(instanceId);
      throw new PermanentDriverError(`the image does not fit on a ${sizeGb} GB volume: ${lastLine(err)}`);
    }
  }

  private async sizeBytes(instanceId: string): Promise<number> {
    const [file, ...args] = lvmCommands.size(this.vg, instanceId);
    return Number((await this.exec(file, args)).trim());
  }

  async diskGb(instanceId: string): Promise<number> {
    return Math.floor((await this.sizeBytes(instanceId)) / 2 ** 30);
  }

  async growDisk(instanceId: string, sizeGb: number): Promise<void> {
    for (const [file, ...args] of lvmCommands.grow(this.vg, instanceId, sizeGb, await this.sizeBytes(instanceId))) await runFsck(file, args, this.exec);
  }

  async list(): Promise<string[]> {
    const [file, ...args] = lvmCommands.list(this.vg);
    const names = (await this.exec(file, args)).split('\n').map((l) => l.trim());
    return names.map(diskOwner).filter((id): id is string => id !== null);
  }

  async removeDisk(instanceId: string): Promise<void> {
    if (!(await this.exists(instanceId))) return;
    const [file, ...args] = lvmCommands.remove(this.vg, instanceId);
    await this.exec(file, args);
  }
}
