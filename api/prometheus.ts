import { AppError } from '../lib/errors';

/** The series an instance's metrics answer carries, by their names in the answer. */
export const INSTANCE_SERIES: Record<string, string> = {
  cpuPercent: 'vcloud_instance_cpu_percent',
  memoryUsedBytes: 'vcloud_instance_memory_used_bytes',
  memoryLimitBytes: 'vcloud_instance_memory_limit_bytes',
  diskReadBytesPerSecond: 'vcloud_instance_disk_read_bytes_per_second',
  diskWriteBytesPerSecond: 'vcloud_instance_disk_write_bytes_per_second',
  diskReadOpsPerSecond: 'vcloud_instance_disk_read_ops_per_second',
  diskWriteOpsPerSecond: 'vcloud_instance_disk_write_ops_per_second',
  networkReceiveBytesPerSecond: 'vcloud_instance_network_receive_bytes_per_second',
  networkTransmitBytesPerSecond: 'vcloud_instance_network_transmit_bytes_per_second',
  networkReceivePacketsPerSecond: 'vcloud_instance_network_receive_packets_per_second',
  networkTransmitPacketsPerSecond: 'vcloud_instance_network_transmit_packets_per_second',
};

const unavailable = (why: string) => new AppError(503, 'Service Unavailable', `monitoring is unavailable: ${why}`);

/**
 * A range query to Prometheus, answered within a few seconds or refused with a 503: a monitoring
 * outage never holds a request up. Each series comes back as [unix seconds, value] pairs.
 */
export async function queryRange(baseUrl: string | undefined, promql: string, range: { start: number; end: number; step: number }): Promise<[number, number][]> {
  if (!baseUrl) throw unavailable('no Prometheus is configured (VCLOUD_PROMETHEUS_URL)');
  const url = new URL('/api/v1/query_range', baseUrl);
  url.search = new URLSearchParams({ query: promql, start: String(range.start), end: String(range.end), step: String(range.step) }).toString();
  let res: Response;
  try {
    res = await fetch(url, { signal: AbortSignal.timeout(5_000) });
  } catch (err) {
    throw unavailable(`Prometheus did not answer (${(err as Error).name})`);
  }
  if (!res.ok) throw unavailable(`Prometheus answered ${res.status}`);
  const body = (await res.json()) as { data?: { result?: { values: [number, string][] }[] } };
  const values = body.data?.result?.[0]?.values ?? [];
  return values.map(([t, v]) => [t, Number(v)]);
}

/** `30s`, `5m`, `2h`, `1d` in seconds. */
export function durationSeconds(text: string): number {
  const m = /^(\d{1,6})([smhd])$/.exec(text);
  if (!m) return NaN;
  return Number(m[1]) * { s: 1, m: 60, h: 3600, d: 86400 }[m[2] as 's' | 'm' | 'h' | 'd'];
}
