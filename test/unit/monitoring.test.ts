import fs from 'node:fs';
import path from 'node:path';
import { parseDomstats } from '../../host/metrics/domstats';
import { InstanceMonitor } from '../../host/metrics/monitor';
import { INSTANCE_SERIES } from '../../api/prometheus';
import { projectRoot } from '../../lib/config';
import { createLogger } from '../../lib/logger';
import { rates, type RawSample } from '../../host/metrics/sample';

const zero: RawSample = {
  at: 0, cpuNanos: 0, memoryUsedBytes: 0, memoryLimitBytes: null, diskReadBytes: 0, diskWriteBytes: 0, diskReadOps: 0, diskWriteOps: 0,
  netRxBytes: 0, netTxBytes: 0, netRxPackets: 0, netTxPackets: 0,
};

describe('monitoring samples', () => {
  test('rates: CPU as % of the vCPUs, counters per second, a counter that went back counts from zero', () => {
    const cur = { ...zero, at: 2000, cpuNanos: 3e9, diskWriteBytes: 4e6, netRxPackets: 10 };
    expect(rates(zero, cur, 2)).toMatchObject({ cpuPercent: 75, diskWriteBytesPerSecond: 2e6, netRxPacketsPerSecond: 5 });
    const restarted = { ...zero, at: 4000, cpuNanos: 1e9 };
    expect(rates(cur, restarted, 1).cpuPercent).toBe(50);
  });

  test('virsh domstats --raw: every running domain, block and interface counters summed, memory from the balloon', () => {
    const text = [
      "Domain: 'vc-11111111-2222-4333-8444-555555555555'",
      '  state.state=1', '  cpu.time=5000000000', '  balloon.current=163840', '  balloon.rss=100000',
      '  net.count=1', '  net.0.rx.bytes=100', '  net.0.tx.bytes=50', '  net.0.rx.pkts=3', '  net.0.tx.pkts=2',
      '  block.count=2', '  block.0.rd.bytes=10', '  block.0.wr.bytes=20', '  block.0.rd.reqs=1', '  block.0.wr.reqs=2',
      '  block.1.rd.bytes=5', '  block.1.wr.bytes=5', '  block.1.rd.reqs=1', '  block.1.wr.reqs=1',
      '',
      "Domain: 'vc-shut'", '  state.state=5', '',
    ].join('\n');
    const out = parseDomstats(text, 7);
    expect([...out.keys()]).toEqual(['vc-11111111-2222-4333-8444-555555555555']);
    expect(out.get('vc-11111111-2222-4333-8444-555555555555')).toEqual({
      at: 7, cpuNanos: 5e9, memoryUsedBytes: 100000 * 1024, memoryLimitBytes: 163840 * 1024, diskReadBytes: 15, diskWriteBytes: 25,
      diskReadOps: 2, diskWriteOps: 3, netRxBytes: 100, netTxBytes: 50, netRxPackets: 3, netTxPackets: 2,
    });
  });

  test('the Grafana dashboard and the API read only series the agents export', () => {
    const monitor = new InstanceMonitor({ hostId: 'h', drivers: {}, instances: async () => [], intervalSeconds: 10, log: createLogger('test', 'silent') });
    const exported = new Set(monitor.registry.getMetricsAsArray().map((m) => m.name));
    const dashboard = fs.readFileSync(path.join(projectRoot, 'docs', 'grafana-dashboard.json'), 'utf8');
    const used = new Set([...dashboard.matchAll(/vcloud_(?:instance|agent)_\w+/g)].map((m) => m[0]));
    for (const name of [...used, ...Object.values(INSTANCE_SERIES)]) expect([name, exported.has(name)]).toEqual([name, true]);
    expect(JSON.parse(dashboard).panels.length).toBeGreaterThanOrEqual(6);
  });
});
