import fs from 'node:fs';
import path from 'node:path';
import { projectRoot } from '../../lib/config';
import { buildDomainXml, kernelIpArgument, netmaskOf } from '../../drivers/domain-xml';
import { LvmStorage, lvmCommands } from '../../storage/lvm-storage';
import { domainDetail } from '../../drivers/libvirt-driver';
import { personalityFiles } from '../../host/rootfs';

// Golden files: the output of the pure builders, compared byte for byte. To accept a deliberate
// change, run with VCLOUD_UPDATE_GOLDEN=1 and review the diff.
const golden = (name: string, actual: string) => {
  const file = path.join(projectRoot, 'test', 'fixtures', 'golden', name);
  if (process.env.VCLOUD_UPDATE_GOLDEN === '1') fs.writeFileSync(file, actual);
  expect(actual).toBe(fs.readFileSync(file, 'utf8'));
};

const id = '0f8fad5b-d9cb-469f-a165-70867728950e';
const network = { bridge: 'vctest0', mac: '52:54:0a:d6:00:0a', ip: '10.214.0.10', gateway: '10.214.0.1', prefix: 24 };

describe('golden files', () => {
  test('domain XML: direct kernel boot, pinned vCPUs, bridge NIC with the platform MAC, serial log', () => {
    golden('domain-file-disk.xml', buildDomainXml({
      instanceId: id, domainType: 'qemu', vcpus: 2, cpuset: [2, 3], memoryMb: 512,
      kernel: '/var/cache/vcloud/img/vmlinuz', initrd: '/var/cache/vcloud/img/initrd.img', baseCmdline: 'console=ttyS0',
      disk: { type: 'file', path: `/var/lib/vcloud/disks/vc-${id}.raw` }, network, hostname: 'test-web-0-10',
      consoleLog: `/var/log/vcloud/vc-${id}.log`,
    }));
    golden('domain-lvm-disk.xml', buildDomainXml({
      instanceId: id, domainType: 'kvm', vcpus: 1, cpuset: [5], memoryMb: 1024,
      kernel: '/k', initrd: '/i', baseCmdline: 'console=ttyS0 quiet',
      disk: new LvmStorage('ssd0').diskFor(id), network, hostname: 'test-db-0-10', consoleLog: '/c.log',
    }));
  });

  test('values that could break out of the XML are escaped', () => {
    const xml = buildDomainXml({
      instanceId: id, domainType: 'qemu', vcpus: 1, cpuset: [0], memoryMb: 64, kernel: "/k'><evil/>", initrd: '/i&', baseCmdline: '',
      disk: { type: 'file', path: '/d' }, network, hostname: 'h', consoleLog: '/c',
    });
    expect(xml).not.toContain('<evil/>');
    expect(xml).toContain('&apos;&gt;&lt;evil/&gt;');
    expect(xml).toContain('/i&amp;');
  });

  test('LVM: the commands the lvm storage driver runs, in order', () => {
    const lines = [
      lvmCommands.exists('ssd0', id),
      ...lvmCommands.create('ssd0', id, 20, '/var/lib/vcloud/work/rootfs'),
      ...lvmCommands.restore('ssd0', id, 20, '/var/cache/vcloud/snap.qcow2'),
      lvmCommands.remove('ssd0', id),
    ].map((c) => c.join(' ')).join('\n') + '\n';
    golden('lvm-commands.txt', lines);
  });

  test('the lvm driver runs exactly those commands, and removes a volume it could not fill', async () => {
    const calls: string[] = [];
    let exists = false;
    const exec = async (file: string, args: string[]) => {
      calls.push([file, ...args].join(' '));
      if (file === 'lvs') { if (!exists) throw new Error('not found'); return 'vc'; }
      if (file === 'lvcreate') exists = true;
      if (file === 'lvremove') exists = false;
      if (file === 'mkfs.ext4') throw new Error('mkfs.ext4: Could not allocate block in ext2 filesystem');
      return '';
    };
    const lvm = new LvmStorage('ssd0', exec);
    await expect(lvm.createDisk(id, 1, '/r')).rejects.toThrow(/does not fit on a 1 GB volume: mkfs.ext4: Could not allocate block/);
    expect(calls).toEqual([
      `lvs --noheadings -o lv_name ssd0/vc-${id}`,
      `lvcreate --yes --wipesignatures y -L 1G -n vc-${id} ssd0`,
      `mkfs.ext4 -q -F -L vcroot -E root_owner=0:0 -d /r /dev/ssd0/vc-${id}`,
      `lvs --noheadings -o lv_name ssd0/vc-${id}`,
      `lvremove --yes ssd0/vc-${id}`,
    ]);
    expect(() => new LvmStorage('vg; rm -rf /')).toThrow(/bad volume group/);
  });

  test('the lvm driver grows a volume only when it is smaller, and always checks and grows its filesystem', async () => {
    const calls: string[] = [];
    let bytes = 2 * 2 ** 30;
    const exec = async (file: string, args: string[]) => {
      calls.push([file, ...args].join(' '));
      if (file === 'lvs') return `  ${bytes}\n`;
      if (file === 'lvextend') bytes = 3 * 2 ** 30;
      return '';
    };
    const lvm = new LvmStorage('ssd0', exec);
    await lvm.growDisk(id, 3);
    await lvm.growDisk(id, 3);
    expect(await lvm.diskGb(id)).toBe(3);
    const fs2 = [`e2fsck -f -y /dev/ssd0/vc-${id}`, `resize2fs /dev/ssd0/vc-${id}`];
    const size = `lvs --noheadings --units b --nosuffix -o lv_size ssd0/vc-${id}`;
    expect(calls).toEqual([size, `lvextend -L 3G ssd0/vc-${id}`, ...fs2, size, ...fs2, size]);
  });

  test('a domain with resize headroom: vCPUs defined up to the maximum (the rest offline), memory held by a balloon; read back as libvirt writes it', () => {
    const xml = buildDomainXml({
      instanceId: id, domainType: 'qemu', vcpus: 2, cpuset: [2, 3], memoryMb: 512, maxVcpus: 4, maxMemoryMb: 1024,
      kernel: '/k', initrd: '/i', baseCmdline: 'console=ttyS0', disk: { type: 'file', path: '/d.raw' }, network, hostname: 'h', consoleLog: '/c.log',
    });
    expect(xml).toContain(`<memory unit='MiB'>1024</memory>`);
    expect(xml).toContain(`<currentMemory unit='MiB'>512</currentMemory>`);
    expect(xml).toContain(`<vcpu placement='static' cpuset='2,3' current='2'>4</vcpu>`);
    expect(xml).toContain(`<vcpupin vcpu='3' cpuset='3'/>`);
    expect(xml).toContain(`<memballoon model='virtio'/>`);
    // libvirt's own rendering (KiB, ranges), after a live resize pinned the two vCPUs that are on anew.
    const libvirtXml = `<domain><memory unit='KiB'>1048576</memory><currentMemory unit='KiB'>786432</currentMemory>
      <vcpu placement='static' cpuset='2-3' current='2'>4</vcpu><cputune><vcpupin vcpu='0' cpuset='0'/><vcpupin vcpu='1' cpuset='1'/>
      <vcpupin vcpu='2' cpuset='0'/><vcpupin vcpu='3' cpuset='5'/></cputune><cmdline>console=ttyS0 ip=10.214.0.10::10.214.0.1:255.255.255.0:h:eth0:off</cmdline></domain>`;
    expect(domainDetail(libvirtXml)).toEqual({ ip: '10.214.0.10', cpuset: [0, 1], memoryMb: 768, vcpus: 2, maxVcpus: 4, maxMemoryMb: 1024 });
  });

  test('kernel ip= argument and the files that give a rootfs its identity', () => {
    expect(netmaskOf(24)).toBe('255.255.255.0');
    expect(netmaskOf(20)).toBe('255.255.240.0');
    expect(kernelIpArgument(network, 'h1')).toBe('ip=10.214.0.10::10.214.0.1:255.255.255.0:h1:eth0:off');
    golden('personality.txt', Object.entries(personalityFiles({ hostname: 'test-web-0-10', ...network }))
      .map(([f, c]) => `== ${f}\n${c}`).join(''));
  });
});
