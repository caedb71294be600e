import { run } from '../../host/run';
import { waitUntil } from './global-setup';

// Looking at a test host directly: its Docker engine, its libvirt, and inside its instances.
export interface TestHost { id: string; dockerSocket: string; libvirtUri: string }

export const docker = (h: TestHost, ...args: string[]) => run('docker', ['--host', `unix://${h.dockerSocket}`, ...args]);
export const virsh = (h: TestHost, ...args: string[]) => run('virsh', ['-c', h.libvirtUri, ...args]);

export async function hasCopy(h: TestHost, instanceId: string): Promise<boolean> {
  const container = await docker(h, 'inspect', `vc-${instanceId}`).then(() => true, () => false);
  const domain = await virsh(h, 'dominfo', `vc-${instanceId}`).then(() => true, () => false);
  return container || domain;
}

/** Runs a shell command inside an instance: `docker exec` for a container, the guest agent for a VM. */
export async function inside(h: TestHost, kind: 'docker' | 'kvm', instanceId: string, script: string): Promise<string> {
  if (kind === 'docker') return docker(h, 'exec', `vc-${instanceId}`, 'sh', '-c', script);
  const agent = async (cmd: object) => JSON.parse(await virsh(h, 'qemu-agent-command', '--timeout', '10', `vc-${instanceId}`, JSON.stringify(cmd))).return;
  await waitUntil(`the guest agent of ${instanceId}`, () => agent({ execute: 'guest-ping' }).then(() => true), 90_000);
  const { pid } = await agent({ execute: 'guest-exec', arguments: { path: '/bin/sh', arg: ['-c', script], 'capture-output': true } });
  let out = '';
  await waitUntil(`guest command ${pid}`, async () => {
    const status = await agent({ execute: 'guest-exec-status', arguments: { pid } });
    if (status.exited) out = Buffer.from(status['out-data'] ?? '', 'base64').toString();
    return status.exited;
  }, 30_000);
  return out;
}
