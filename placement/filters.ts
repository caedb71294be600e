import type { Filter } from './types';

// Each filter is one rule, named so a refusal can say which rule no host passed.
export const zoneFilter: Filter = { name: 'zone', passes: (h, r) => h.zoneId === r.zoneId };
export const enabledFilter: Filter = { name: 'host enabled', passes: (h) => h.state === 'enabled' };
export const liveFilter: Filter = { name: 'host alive', passes: (h) => h.live };
export const kindFilter: Filter = { name: 'kind supported', passes: (h, r) => h.kinds.includes(r.kind) };
export const pinFilter: Filter = { name: 'admin pin', passes: (h, r) => r.pinnedHostId === null || h.id === r.pinnedHostId };
export const vcpuFilter: Filter = {
  name: 'free vCPUs',
  passes: (h, r, ratios) => r.vcpus <= h.physicalCpus && h.usedVcpus + r.vcpus <= h.vcpus * ratios.cpu,
};
export const memoryFilter: Filter = {
  name: 'free memory', passes: (h, r, ratios) => h.usedMemoryMb + r.memoryMb <= h.memoryMb * ratios.memory,
};
export const diskFilter: Filter = { name: 'free disk', passes: (h, r) => h.usedDiskGb + r.diskGb <= h.diskGb };

export const defaultFilters: Filter[] = [
  zoneFilter, pinFilter, enabledFilter, liveFilter, kindFilter, vcpuFilter, memoryFilter, diskFilter,
];
