import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../lib/config';
import { run } from '../host/run';
import { DockerDriver } from '../drivers/docker-driver';
import { InstanceMonitor } from '../host/metrics/monitor';
import { createLogger } from '../lib/logger';
import { intArg, pool, writeResult } from './stats';

/**
 * What agentless monitoring costs: N containers (60, the seed's density) on the default engine,
 * read by the agent's monitor every 10 s for a minute. Printed: the agent's CPU per second of wall
 * time (the goal is at most 1% of one core), the engine's (dockerd's) own, a round's wall time and a
 * scrape's, against the raw baseline in the same run: one `docker stats --no-stream` of the same
 * containers (one call per container inside the engine). The containers are labelled as instances
 * so the driver sees them; they are gone within the reconciler's orphan grace (120 s by default).
 */
const N = intArg('instances', 60, 200);
const ROUNDS = intArg('rounds', 6, 60);
const INTERVAL_MS = 10_000;
const IMAGE = '127.0.0.1:5000/vcloud/busybox:1';

/** The default engine's pid: from `npm run up`'s pid file, or a system dockerd's; null when neither is there. */
const dockerdPid = (): number | null => {
  for (const file of [path.join(loadConfig().dataDir, 'pids', 'dockerd.dockerd.pid'), '/var/run/docker.pid']) {
    const pid = Number(fs.existsSync(file) ? fs.readFileSync(file, 'utf8').trim() : NaN);
    if (Number.isInteger(pid) && pid > 1 && fs.existsSync(`/proc/${pid}`)) return pid;
  }
  return null;
};
/** user+system CPU seconds of a process, from /proc. */
const cpuOf = (pid: number | null): number => {
  if (!pid) return 0;
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  // utime and stime, in clock ticks (100 per second on Linux).
  return (Number(fields[11]) + Number(fields[12])) / 100;
};

async function main() {
  const ids = Array.from({ length: N }, () => crypto.randomUUID());
  const log = createLogger('bench-monitoring', 'warn');
  try {
    await pool(ids, 8, (id) => run('docker', ['run', '-d', '--name', `vc-${id}`, '--network', 'none', '--memory', '32m', '--label', `vcloud.instance=${id}`,
      '--label', 'vcloud.bench=monitoring', IMAGE, 'sleep', '3600']));
    const monitor = new InstanceMonitor({
      hostId: 'bench', drivers: { docker: new DockerDriver('/var/run/docker.sock', 'bench') }, intervalSeconds: INTERVAL_MS / 1000, log,
      instances: async () => ids.map((id, i) => ({ id, name: `bench-${i}`, kind: 'docker', zone: 'bench', owner: 'bench', vcpus: 1 })),
    });
    await monitor.round(); // the first reading: pids found, nothing to rate yet

    const dockerd = dockerdPid();
    const cpu0 = process.cpuUsage();
    const engine0 = cpuOf(dockerd);
    const wall0 = performance.now();
    const roundMs: number[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      const t0 = performance.now();
      await monitor.round();
      roundMs.push(performance.now() - t0);
      await new Promise((res) => setTimeout(res, Math.max(0, INTERVAL_MS - (performance.now() - t0))));
    }
    const wallSeconds = (performance.now() - wall0) / 1000;
    const used = process.cpuUsage(cpu0);
    const agentPercent = ((used.user + used.system) / 1e6 / wallSeconds) * 100;
    const enginePercent = ((cpuOf(dockerd) - engine0) / wallSeconds) * 100;
    const s0 = performance.now();
    const text = await monitor.registry.metrics();
    const scrapeMs = performance.now() - s0;
    const series = text.split('\n').filter((l) => l.startsWith('vcloud_instance_cpu_percent{')).length;

    const b0 = performance.now();
    await run('docker', ['stats', '--no-stream', '--format', '{{.ID}} {{.CPUPerc}}', ...ids.map((id) => `vc-${id}`)], 120_000);
    const baselineMs = performance.now() - b0;
    const roundMedian = [...roundMs].sort((a, b) => a - b)[Math.floor(roundMs.length / 2)];

    const result = {
      benchmark: 'monitoring', at: new Date().toISOString(), machine: { cpus: os.cpus().length, kernel: os.release() },
      instances: N, rounds: ROUNDS, intervalSeconds: INTERVAL_MS / 1000, seriesPerMetric: series,
      agentCpuPercentOfOneCore: +agentPercent.toFixed(3), engineCpuPercentOfOneCore: +enginePercent.toFixed(3),
      roundMsMedian: +roundMedian.toFixed(1), scrapeMs: +scrapeMs.toFixed(1), dockerStatsNoStreamMs: +baselineMs.toFixed(1),
      ratioRoundToDockerStats: +(roundMedian / baselineMs).toFixed(3),
    };
    console.log(`monitoring: ${N} containers, a round every ${INTERVAL_MS / 1000} s: agent ${result.agentCpuPercentOfOneCore}% of one core, dockerd ${result.engineCpuPercentOfOneCore}%`);
    console.log(`  a round ${result.roundMsMedian} ms (median of ${ROUNDS}) vs docker stats --no-stream ${result.dockerStatsNoStreamMs} ms: ratio ${result.ratioRoundToDockerStats}; a scrape ${result.scrapeMs} ms, ${series} instances`);
    console.log(`written to ${writeResult('monitoring', result)}`);
  } finally {
    await pool(ids, 8, (id) => run('docker', ['rm', '-f', `vc-${id}`]).catch(() => ''));
  }
}
main().catch((err) => { console.error(err); process.exit(1); });
