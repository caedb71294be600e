import http from 'node:http';
import { Counter, Gauge, Registry } from 'prom-client';
import type { Logger } from '../../lib/logger';
import type { MonitoredInstance } from '../../db/monitoring';
import type { Drivers } from '../../workers/agent/drivers';
import { rates, type RawSample, type Rates } from './sample';

const LABELS = ['instance_id', 'name', 'host', 'zone', 'kind', 'owner'] as const;

/** Each exported series: its name, what it says, and which rate it shows. */
const SERIES: [string, string, (r: Rates) => number | null][] = [
  ['vcloud_instance_cpu_percent', 'CPU used, in % of the instance\'s vCPUs (100: all of them busy)', (r) => r.cpuPercent],
  ['vcloud_instance_memory_used_bytes', 'memory used (without the page cache it can give back)', (r) => r.memoryUsedBytes],
  ['vcloud_instance_memory_limit_bytes', 'memory limit', (r) => r.memoryLimitBytes],
  ['vcloud_instance_disk_read_bytes_per_second', 'disk bytes read per second', (r) => r.diskReadBytesPerSecond],
  ['vcloud_instance_disk_write_bytes_per_second', 'disk bytes written per second', (r) => r.diskWriteBytesPerSecond],
  ['vcloud_instance_disk_read_ops_per_second', 'disk read operations per second', (r) => r.diskReadOpsPerSecond],
  ['vcloud_instance_disk_write_ops_per_second', 'disk write operations per second', (r) => r.diskWriteOpsPerSecond],
  ['vcloud_instance_network_receive_bytes_per_second', 'bytes received per second', (r) => r.netRxBytesPerSecond],
  ['vcloud_instance_network_transmit_bytes_per_second', 'bytes sent per second', (r) => r.netTxBytesPerSecond],
  ['vcloud_instance_network_receive_packets_per_second', 'packets received per second', (r) => r.netRxPacketsPerSecond],
  ['vcloud_instance_network_transmit_packets_per_second', 'packets sent per second', (r) => r.netTxPacketsPerSecond],
];

export interface MonitorOptions {
  hostId: string;
  drivers: Drivers;
  instances: () => Promise<MonitoredInstance[]>;
  intervalSeconds: number;
  log: Logger;
}

/**
 * Agentless monitoring on the host: every interval, one bulk reading per engine of every instance
 * here, turned into rates against the reading before and kept as Prometheus gauges. A scrape reads
 * what the last round made, so it never waits on an engine; a slow or failing engine leaves its
 * instances out of that round (counted in vcloud_agent_monitoring_errors_total), never the others.
 */
export class InstanceMonitor {
  readonly registry = new Registry();
  private readonly gauges: Gauge<(typeof LABELS)[number]>[];
  private readonly cost: Gauge;
  private readonly cpuCost: Counter;
  private readonly errors: Counter<'kind'>;
  private readonly rounds: Counter;
  private previous = new Map<string, RawSample>();
  private timer: NodeJS.Timeout | null = null;
  private busy = false;
  private server: http.Server | null = null;

  constructor(private readonly o: MonitorOptions) {
    this.gauges = SERIES.map(([name, help]) => new Gauge({ name, help, labelNames: LABELS, registers: [this.registry] }));
    this.cost = new Gauge({ name: 'vcloud_agent_monitoring_round_seconds', help: 'wall time of the last monitoring round', registers: [this.registry] });
    this.cpuCost = new Counter({ name: 'vcloud_agent_monitoring_cpu_seconds_total', help: 'CPU time the agent spent on monitoring rounds', registers: [this.registry] });
    this.errors = new Counter({ name: 'vcloud_agent_monitoring_errors_total', help: 'engine readings that failed', labelNames: ['kind'], registers: [this.registry] });
    this.rounds = new Counter({ name: 'vcloud_agent_monitoring_rounds_total', help: 'monitoring rounds done', registers: [this.registry] });
  }

  /** One round: read, rate, publish. */
  async round(): Promise<void> {
    const started = process.hrtime.bigint();
    const cpu = process.cpuUsage();
    const instances = new Map((await this.o.instances()).map((i) => [i.id, i]));
    const current = new Map<string, RawSample>();
    for (const [kind, driver] of Object.entries(this.o.drivers)) {
      try {
        for (const [id, s] of await driver!.sampleAll()) current.set(id, s);
      } catch (err) {
        this.errors.inc({ kind });
        this.o.log.warn({ err: String(err), kind }, 'monitoring could not read an engine this round');
      }
    }
    for (const g of this.gauges) g.reset();
    for (const [id, sample] of current) {
      const inst = instances.get(id);
      const prev = this.previous.get(id);
      if (!inst || !prev) continue;
      const r = rates(prev, sample, inst.vcpus);
      const labels = { instance_id: id, name: inst.name, host: this.o.hostId, zone: inst.zone, kind: inst.kind, owner: inst.owner };
      SERIES.forEach(([, , pick], i) => {
        const v = pick(r);
        if (v !== null && Number.isFinite(v)) this.gauges[i].set(labels, v);
      });
    }
    this.previous = current;
    const used = process.cpuUsage(cpu);
    this.cpuCost.inc((used.user + used.system) / 1e6);
    this.cost.set(Number(process.hrtime.bigint() - started) / 1e9);
    this.rounds.inc();
  }

  start(): void {
    const tick = async () => {
      if (this.busy) return; // a round never overlaps the one before
      this.busy = true;
      try {
        await this.round();
      } catch (err) {
        this.o.log.warn({ err: String(err) }, 'monitoring round failed');
      } finally {
        this.busy = false;
      }
    };
    void tick();
    this.timer = setInterval(() => void tick(), this.o.intervalSeconds * 1000);
  }

  /** Serves GET /metrics (Prometheus text) at host:port. */
  listen(address: string): void {
    const [host, port] = [address.slice(0, address.lastIndexOf(':')), Number(address.slice(address.lastIndexOf(':') + 1))];
    this.server = http.createServer((req, res) => {
      if (req.method !== 'GET' || req.url !== '/metrics') {
        res.writeHead(404).end();
        return;
      }
      this.registry.metrics().then((text) => res.writeHead(200, { 'content-type': this.registry.contentType }).end(text),
        () => res.writeHead(500).end());
    });
    this.server.on('error', (err) => this.o.log.warn({ err: String(err), address }, 'monitoring endpoint could not listen'));
    this.server.listen(port, host);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.server?.close();
  }
}
