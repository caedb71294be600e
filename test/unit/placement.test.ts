import { rankHosts, explainNoHost } from '../../placement/rank';
import { chooseCpuset } from '../../placement/cpuset';
import { appSpreadWeigher, cpuFreeWeigher, memoryFreeWeigher } from '../../placement/weighers';
import { diskFilter, enabledFilter, kindFilter, liveFilter, memoryFilter, pinFilter, vcpuFilter, zoneFilter } from '../../placement/filters';
import type { HostCandidate, PlacementRequest } from '../../placement/types';

const ratios = { cpu: 1, memory: 1 };
const host = (id: string, over: Partial<HostCandidate> = {}): HostCandidate => ({
  id, zoneId: 'z', state: 'enabled', kinds: ['docker'], vcpus: 8, memoryMb: 8192, diskGb: 100,
  usedVcpus: 0, usedMemoryMb: 0, usedDiskGb: 0, physicalCpus: 8, live: true, appCount: 0, ...over,
});
const req: PlacementRequest = { zoneId: 'z', kind: 'docker', vcpus: 2, memoryMb: 1024, diskGb: 10, app: null, pinnedHostId: null };

describe('placement filters', () => {
  test.each([
    [zoneFilter, host('a', { zoneId: 'other' })],
    [enabledFilter, host('a', { state: 'draining' })],
    [liveFilter, host('a', { live: false })],
    [kindFilter, host('a', { kinds: ['kvm'] })],
    [pinFilter, host('b')],
    [vcpuFilter, host('a', { usedVcpus: 7 })],
    [vcpuFilter, host('a', { physicalCpus: 1 })],
    [memoryFilter, host('a', { usedMemoryMb: 7500 })],
    [diskFilter, host('a', { usedDiskGb: 95 })],
  ])('%# %p rejects what it should and passes a fitting host', (filter, bad) => {
    const r = { ...req, pinnedHostId: filter === pinFilter ? 'a' : null };
    expect(filter.passes(bad, r, ratios)).toBe(false);
    expect(filter.passes(host('a'), r, ratios)).toBe(true);
  });

  test('the allocation ratio scales vCPUs and memory, never physical CPUs per instance', () => {
    expect(vcpuFilter.passes(host('a', { usedVcpus: 14 }), req, { cpu: 2, memory: 1 })).toBe(true);
    expect(vcpuFilter.passes(host('a', { usedVcpus: 15 }), req, { cpu: 2, memory: 1 })).toBe(false);
    expect(vcpuFilter.passes(host('a', { physicalCpus: 1 }), req, { cpu: 16, memory: 1 })).toBe(false);
  });
});

describe('placement weighers and ranking', () => {
  test('least used CPU and memory as fractions of capacity', () => {
    expect(cpuFreeWeigher.weigh(host('a', { usedVcpus: 2 }), req, ratios)).toBeCloseTo(0.75);
    expect(memoryFreeWeigher.weigh(host('a', { usedMemoryMb: 4096 }), req, ratios)).toBeCloseTo(0.5);
    expect(appSpreadWeigher.weigh(host('a', { appCount: 3 }), { ...req, app: 'web' }, ratios)).toBe(-3);
    expect(appSpreadWeigher.weigh(host('a', { appCount: 3 }), req, ratios)).toBe(0);
  });

  test('orders by weight, breaks ties by id, and spreads an app', () => {
    const hosts = [host('c'), host('b', { usedVcpus: 4 }), host('a')];
    expect(rankHosts(hosts, req, ratios).hosts.map((h) => h.id)).toEqual(['a', 'c', 'b']);
    const spread = [host('a', { appCount: 1 }), host('b', { usedVcpus: 6, appCount: 0 })];
    expect(rankHosts(spread, { ...req, app: 'web' }, ratios).hosts.map((h) => h.id)).toEqual(['b', 'a']);
  });

  test('says which filter each rejected host failed', () => {
    const ranking = rankHosts([host('a', { state: 'disabled' }), host('b', { usedMemoryMb: 8000 }), host('c', { usedMemoryMb: 8000 })], req, ratios);
    expect(ranking.hosts).toEqual([]);
    expect(ranking.rejectedBy).toEqual({ 'host enabled': 1, 'free memory': 2 });
    expect(explainNoHost(3, ranking.rejectedBy)).toBe('no host fits: 3 host(s) considered, 1 failed "host enabled", 2 failed "free memory"');
    expect(explainNoHost(0, {})).toBe('no host in the zone');
  });
});

describe('cpuset choice', () => {
  const nodes = [{ id: 0, cpus: [0, 1, 2, 3], memoryMb: 1 }, { id: 1, cpus: [4, 5, 6, 7], memoryMb: 1 }];
  test('least-used CPUs, inside one NUMA node', () => {
    expect(chooseCpuset(nodes, new Map(), 2)).toEqual([0, 1]);
    expect(chooseCpuset(nodes, new Map([[0, 1], [1, 1]]), 2)).toEqual([2, 3]);
    expect(chooseCpuset(nodes, new Map([[0, 1], [1, 1], [2, 1], [3, 1]]), 3)).toEqual([4, 5, 6]);
    expect(chooseCpuset(nodes, new Map([[0, 1], [4, 2]]), 4)).toEqual([0, 1, 2, 3]);
  });
  test('never two instances on one CPU while free ones remain', () => {
    const usage = new Map<number, number>();
    for (let i = 0; i < 8; i++) {
      const [cpu] = chooseCpuset(nodes, usage, 1);
      expect(usage.get(cpu)).toBeUndefined();
      usage.set(cpu, 1);
    }
  });
  test('crosses nodes only when no node can hold the instance', () => {
    expect(chooseCpuset(nodes, new Map(), 6)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(() => chooseCpuset(nodes, new Map(), 9)).toThrow(/8 CPUs/);
  });
});
