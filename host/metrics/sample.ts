/**
 * What a host reads of one instance without entering it, as counters since some start (a
 * container's cgroup and veth; a VM's libvirt bulk statistics), and the rates two readings make.
 */
export interface RawSample {
  /** When it was read (ms, monotonic enough: Date.now()). */
  at: number;
  cpuNanos: number;
  memoryUsedBytes: number;
  /** null: no limit the engine knows of. */
  memoryLimitBytes: number | null;
  diskReadBytes: number; diskWriteBytes: number; diskReadOps: number; diskWriteOps: number;
  netRxBytes: number; netTxBytes: number; netRxPackets: number; netTxPackets: number;
}

export interface Rates {
  cpuPercent: number;
  memoryUsedBytes: number; memoryLimitBytes: number | null;
  diskReadBytesPerSecond: number; diskWriteBytesPerSecond: number; diskReadOpsPerSecond: number; diskWriteOpsPerSecond: number;
  netRxBytesPerSecond: number; netTxBytesPerSecond: number; netRxPacketsPerSecond: number; netTxPacketsPerSecond: number;
}

/** Per second between two readings; a counter that went back (the instance restarted) counts from zero. */
export function rates(prev: RawSample, cur: RawSample, vcpus: number): Rates {
  const seconds = Math.max(0.001, (cur.at - prev.at) / 1000);
  const per = (k: keyof RawSample) => {
    const d = (cur[k] as number) - (prev[k] as number);
    return (d >= 0 ? d : (cur[k] as number)) / seconds;
  };
  return {
    // Of its vCPUs: 100 is every vCPU busy for the whole interval.
    cpuPercent: (per('cpuNanos') / 1e9 / Math.max(1, vcpus)) * 100,
    memoryUsedBytes: cur.memoryUsedBytes, memoryLimitBytes: cur.memoryLimitBytes,
    diskReadBytesPerSecond: per('diskReadBytes'), diskWriteBytesPerSecond: per('diskWriteBytes'),
    diskReadOpsPerSecond: per('diskReadOps'), diskWriteOpsPerSecond: per('diskWriteOps'),
    netRxBytesPerSecond: per('netRxBytes'), netTxBytesPerSecond: per('netTxBytes'),
    netRxPacketsPerSecond: per('netRxPackets'), netTxPacketsPerSecond: per('netTxPackets'),
  };
}
