export interface HostCandidate {
  id: string; zoneId: string; state: string; kinds: string[];
  vcpus: number; memoryMb: number; diskGb: number;
  usedVcpus: number; usedMemoryMb: number; usedDiskGb: number;
  physicalCpus: number; live: boolean; appCount: number;
}
export interface PlacementRequest {
  zoneId: string; kind: string; vcpus: number; memoryMb: number; diskGb: number;
  app: string | null; pinnedHostId: string | null;
}
export interface Ratios { cpu: number; memory: number }
export interface Filter { name: string; passes(h: HostCandidate, r: PlacementRequest, ratios: Ratios): boolean }
export interface Weigher { name: string; multiplier: number; weigh(h: HostCandidate, r: PlacementRequest, ratios: Ratios): number }
