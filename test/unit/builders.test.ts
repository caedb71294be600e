import { buildContainerOptions, pullReference } from '../../drivers/docker-options';
import { plumbCommands, vethNames } from '../../host/bridge-plumbing';
import { hostnameFor, inCidr, intToIp, ipToInt, macFromIp, parseCidr } from '../../lib/net';
import { parseCpuList } from '../../host/machine';
import type { InstanceSpec } from '../../drivers/instance-driver';

const spec: InstanceSpec = {
  instanceId: '0f8fad5b-d9cb-469f-a165-70867728950e', kind: 'docker', hostname: 'test-web-0-10',
  image: { id: 'i', kind: 'docker', location: '127.0.0.1:5000/vcloud/busybox:1', digest: 'sha256:' + 'a'.repeat(64), boot: null },
  vcpus: 2, memoryMb: 256, diskGb: 1, cpuset: [2, 3],
  network: { bridge: 'vctest0', ip: '10.214.0.10', prefix: 24, gateway: '10.214.0.1', mac: '52:54:0a:d6:00:0a' },
};

describe('container create options (pure builder)', () => {
  test('no Docker networking, pinned CPUs, memory = memory+swap, label, digest-pinned image', () => {
    expect(buildContainerOptions(spec)).toEqual({
      name: 'vc-0f8fad5b-d9cb-469f-a165-70867728950e',
      Image: `127.0.0.1:5000/vcloud/busybox@sha256:${'a'.repeat(64)}`,
      Hostname: 'test-web-0-10',
      Labels: { 'vcloud.instance': spec.instanceId },
      HostConfig: {
        NetworkMode: 'none', CpusetCpus: '2,3', Memory: 268435456, MemorySwap: 268435456, OomKillDisable: false,
        RestartPolicy: { Name: 'no' }, Init: false,
        LogConfig: { Type: 'json-file', Config: { 'max-size': '10m', 'max-file': '3' } },
      },
    });
  });
  test('pull references', () => {
    expect(pullReference('reg:5000/a/b:1', null)).toBe('reg:5000/a/b:1');
    expect(pullReference('reg:5000/a/b', 'sha256:1')).toBe('reg:5000/a/b@sha256:1');
    expect(pullReference('reg:5000/a/b:1@sha256:0', 'sha256:1')).toBe('reg:5000/a/b@sha256:1');
  });
});

describe('bridge plumbing commands (pure builder)', () => {
  test('a veth pair on the bridge, the peer as eth0 in the namespace with IP, MAC and default route', () => {
    const cmds = plumbCommands({ instanceId: spec.instanceId, hostId: 'test-a', pid: 4242, ...spec.network });
    const { host, peer } = vethNames(spec.instanceId, 'test-a');
    expect(cmds.map((c) => c.join(' '))).toEqual([
      `ip link add ${host} type veth peer name ${peer}`,
      `ip link set ${host} alias vcloud:test-a:${spec.instanceId}`,
      `ip link set ${host} master vctest0`,
      `ip link set ${host} up`,
      `ip link set ${peer} netns 4242`,
      `nsenter -t 4242 -n ip link set ${peer} name eth0`,
      'nsenter -t 4242 -n ip link set eth0 address 52:54:0a:d6:00:0a',
      'nsenter -t 4242 -n ip addr add 10.214.0.10/24 dev eth0',
      'nsenter -t 4242 -n ip link set eth0 up',
      'nsenter -t 4242 -n ip link set lo up',
      'nsenter -t 4242 -n ip route replace default via 10.214.0.1',
    ]);
  });
  test('interface names fit in 15 characters and refuse what is not an instance id', () => {
    expect(vethNames(spec.instanceId, 'test-a').host).toMatch(/^vh[0-9a-f]{12}$/);
    expect(vethNames(spec.instanceId, 'test-a').host).not.toBe(vethNames(spec.instanceId, 'test-b').host);
    expect(() => vethNames('x; rm -rf /', 'test-a')).toThrow();
  });
});

describe('addresses', () => {
  test('MAC from IP, round trips, CIDR membership, hostnames', () => {
    expect(macFromIp('10.214.0.10')).toBe('52:54:0a:d6:00:0a');
    expect(intToIp(ipToInt('10.214.3.250'))).toBe('10.214.3.250');
    expect(parseCidr('10.214.0.77/24')).toEqual({ network: ipToInt('10.214.0.0'), prefix: 24, size: 256 });
    expect(inCidr('10.214.0.10', '10.214.0.0/24')).toBe(true);
    expect(inCidr('10.214.0.255', '10.214.0.0/24')).toBe(false);
    expect(inCidr('10.215.0.10', '10.214.0.0/24')).toBe(false);
    expect(() => ipToInt('10.0.0.256')).toThrow();
    expect(hostnameFor('test', 'web', '10.214.0.10')).toBe('test-web-0-10');
    expect(parseCpuList('0-3,8,10-11')).toEqual([0, 1, 2, 3, 8, 10, 11]);
  });
});
