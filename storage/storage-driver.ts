/** Where a VM's disk lives. `dir` (files) everywhere by default, `lvm` (a volume group) in production. */
export interface StorageDriver {
  readonly name: 'dir' | 'lvm';
  /** The disk as the domain sees it. */
  diskFor(instanceId: string): { type: 'file' | 'block'; path: string };
  exists(instanceId: string): Promise<boolean>;
  /** Makes an ext4 filesystem of `sizeGb` holding `rootfsDir`; a second call finds it made. */
  createDisk(instanceId: string, sizeGb: number, rootfsDir: string): Promise<void>;
  /** A raw disk image (a snapshot) written onto a new disk. */
  restoreDisk(instanceId: string, sizeGb: number, rawImagePath: string): Promise<void>;
  removeDisk(instanceId: string): Promise<void>;
  /** The disk's size in whole GB (rounded down). */
  diskGb(instanceId: string): Promise<number>;
  /** Grows the disk and its ext4 filesystem to `sizeGb` while no guest uses it; never shrinks; a second call finds it done. */
  growDisk(instanceId: string, sizeGb: number): Promise<void>;
  /** Instances that have a disk here (whole or half made). */
  list(): Promise<string[]>;
}

const DISK_NAME = /^vc-([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})(\.raw)?(\.partial)?$/;
/** The instance a disk (file or volume) belongs to, from its name. */
export const diskOwner = (name: string): string | null => DISK_NAME.exec(name)?.[1] ?? null;

/** mkfs.ext4 with the rootfs copied in, no mount needed; the caller adds the target. */
export const mkfsArgs = (rootfsDir: string): string[] =>
  ['-q', '-F', '-L', 'vcroot', '-E', 'root_owner=0:0', '-d', rootfsDir];

/** Checks the (unused) filesystem, as resize2fs asks, then grows it to fill its device; on a grown one both change nothing. */
export const growFsCommands = (device: string): string[][] => [
  ['e2fsck', '-f', '-y', device],
  ['resize2fs', device],
];

export const GIB = 2 ** 30;
