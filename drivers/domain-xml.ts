import { instanceResourceName } from './instance-driver';

export interface DomainSpec {
  instanceId: string; domainType: 'kvm' | 'qemu'; vcpus: number; cpuset: number[]; memoryMb: number;
  /** Maxima above the size (live resize headroom): vCPUs beyond `vcpus` are defined offline, memory above `memoryMb` held by a balloon. */
  maxVcpus?: number | null; maxMemoryMb?: number | null;
  kernel: string; initrd: string; baseCmdline: string;
  disk: { type: 'file' | 'block'; path: string };
  network: { bridge: string; mac: string; ip: string; gateway: string; prefix: number };
  hostname: string; consoleLog: string;
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/'/g, '&apos;').replace(/"/g, '&quot;');

export function netmaskOf(prefix: number): string {
  const n = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  return [24, 16, 8, 0].map((s) => (n >>> s) & 255).join('.');
}

/** The kernel's own notation, parsed by the template's initrd: ip=<client>::<gw>:<mask>:<hostname>:eth0:off */
export function kernelIpArgument(n: DomainSpec['network'], hostname: string): string {
  return `ip=${n.ip}::${n.gateway}:${netmaskOf(n.prefix)}:${hostname}:eth0:off`;
}

/** Pure: the libvirt domain of a VM. Direct kernel boot, pinned vCPUs, a bridge NIC with the platform MAC, a serial
 * console logged by virtlogd, which rotates it (max_size, 2 MiB by default, and max_backups), so a
 * guest that writes without end to its console cannot fill the host's disk. */
export function buildDomainXml(s: DomainSpec): string {
  const maxVcpus = Math.max(s.vcpus, s.maxVcpus ?? 0);
  const maxMemoryMb = Math.max(s.memoryMb, s.maxMemoryMb ?? 0);
  const pins = Array.from({ length: maxVcpus }, (_, i) => `    <vcpupin vcpu='${i}' cpuset='${s.cpuset[i % s.cpuset.length]}'/>`).join('\n');
  // Without maxima the domain is what it always was: no `current`, no balloon. With them, ACPI tells the guest of a hot-plugged vCPU.
  const current = maxVcpus > s.vcpus ? ` current='${s.vcpus}'` : '';
  const balloon = s.maxMemoryMb ? `<memballoon model='virtio'/>` : `<memballoon model='none'/>`;
  const cmdline = [s.baseCmdline, 'root=/dev/vda', kernelIpArgument(s.network, s.hostname)].filter(Boolean).join(' ');
  const source = s.disk.type === 'file' ? `<source file='${esc(s.disk.path)}'/>` : `<source dev='${esc(s.disk.path)}'/>`;
  return `<domain type='${s.domainType}'>
  <name>${instanceResourceName(s.instanceId)}</name>
  <uuid>${s.instanceId}</uuid>
  <metadata><vcloud:instance xmlns:vcloud='https://vcloud.invalid/xmlns/1'>${s.instanceId}</vcloud:instance></metadata>
  <memory unit='MiB'>${maxMemoryMb}</memory>
  <currentMemory unit='MiB'>${s.memoryMb}</currentMemory>
  <vcpu placement='static' cpuset='${s.cpuset.join(',')}'${current}>${maxVcpus}</vcpu>
  <cputune>
${pins}
  </cputune>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <kernel>${esc(s.kernel)}</kernel>
    <initrd>${esc(s.initrd)}</initrd>
    <cmdline>${esc(cmdline)}</cmdline>
  </os>
${maxVcpus > s.vcpus ? `  <features>
    <acpi/>
    <apic/>
  </features>
` : ''}  <on_poweroff>destroy</on_poweroff>
  <on_reboot>restart</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <disk type='${s.disk.type}' device='disk'>
      <driver name='qemu' type='raw'/>
      ${source}
      <target dev='vda' bus='virtio'/>
    </disk>
    <interface type='bridge'>
      <source bridge='${esc(s.network.bridge)}'/>
      <mac address='${s.network.mac}'/>
      <model type='virtio'/>
    </interface>
    <serial type='pty'>
      <log file='${esc(s.consoleLog)}' append='off'/>
      <target port='0'/>
    </serial>
    <console type='pty'>
      <target type='serial' port='0'/>
    </console>
    <channel type='unix'>
      <target type='virtio' name='org.qemu.guest_agent.0'/>
    </channel>
    ${balloon}
  </devices>
</domain>
`;
}
