import path from 'node:path';
import { spawn } from 'node:child_process';
import { platformClient } from './platform-client';
import { intArg, writeResult } from './stats';
import { run } from '../host/run';
import { stopByPidFile } from '../lib/managed-process';

/**
 * N random faults over M random operations, bounded in time, against the platform that
 * `VCLOUD_HOSTS=2 npm run up` started: kill -9 of the control worker, a host agent or the API (each
 * started again after a few seconds, with its own command line and environment), a restart of the
 * Temporal dev server, Postgres stopped for a while. Then everything settles and the invariant
 * checker runs. Prints the operations run (by type and outcome), the faults injected and the
 * invariants violated, which must be 0.
 *
 *   node dist/bench/chaos.js [--ops=40] [--faults=8] [--minutes=20] [--postgres-seconds=30]
 *
 * Only processes `npm run up` started are touched, by the pid files in .data/pids.
 */
const OPS = intArg('ops', 40, 1000);
const FAULTS = intArg('faults', 8, 200);
const MINUTES = intArg('minutes', 20, 240);
const PG_SECONDS = intArg('postgres-seconds', 30, 900);
const { config, api, settle } = platformClient(MINUTES);
const pids = path.join(config.dataDir, 'pids');
const logs = path.join(config.dataDir, 'logs');
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(Math.random() * xs.length)];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Kills a process `up` started (by its pid file) and starts it again the same way after `downMs`. */
async function restart(name: string, signal: NodeJS.Signals, downMs: number): Promise<void> {
  const relaunch = await stopByPidFile(path.join(pids, `${name}.pid`), signal);
  await sleep(downMs);
  relaunch(path.join(logs, `${name}.log`));
}

async function postgresOutage(seconds: number): Promise<void> {
  const version = (await run('pg_lsclusters', ['-h'])).split('\n').find((l) => /\smain\s/.test(l))!.split(/\s+/)[0];
  await run('pg_ctlcluster', [version, 'main', 'stop', '-m', 'fast']);
  await sleep(seconds * 1000);
  await run('pg_ctlcluster', [version, 'main', 'start']);
}

const FAULT_KINDS = {
  'kill -9 control worker': () => restart('control-worker', 'SIGKILL', 2000),
  'kill -9 host agent local-1': () => restart('host-agent', 'SIGKILL', 3000),
  'kill -9 host agent local-2': () => restart('host-agent-2', 'SIGKILL', 3000),
  'kill -9 API': () => restart('api', 'SIGKILL', 1000),
  'restart Temporal': () => restart('temporal', 'SIGTERM', 2000),
  'stop Postgres': () => postgresOutage(PG_SECONDS),
} as const;

async function main() {
  const hosts = (await api('GET', '/v1/hosts')).items.map((h: { id: string }) => h.id);
  if (!hosts.includes('local-1') || !hosts.includes('local-2')) throw new Error('needs hosts local-1 and local-2: VCLOUD_HOSTS=2 npm run up');
  for (const h of ['local-1', 'local-2']) await api('PATCH', `/v1/hosts/${h}`, { state: 'enabled' });
  const tag = Date.now().toString(36);
  const mine: string[] = [];
  const ran: Record<string, Record<string, number>> = {};
  const count = (type: string, outcome: string) => { ran[type] ??= {}; ran[type][outcome] = (ran[type][outcome] ?? 0) + 1; };
  const tolerant = async <T>(fn: () => Promise<T>): Promise<T | null> => {
    for (let i = 0; i < 60; i++) {
      try { return await fn(); } catch (err) { if (/: 4\d\d /.test(String(err))) throw err; await sleep(2000); }
    }
    return null;
  };

  // The operations: random types over the instances this run made, one every second or two.
  const operations = (async () => {
    for (let i = 0; i < OPS; i++) {
      const live = mine.length;
      const type = live < 3 ? 'create' : pick(['create', 'create', 'delete', 'migrate', 'stop', 'start', 'snapshot', 'evacuate']);
      try {
        let res: any;
        if (type === 'create') {
          res = await tolerant(() => api('POST', '/v1/instances', { name: `chaos-${tag}-${i}`, zone: 'default', kind: 'docker', image: 'busybox', vcpus: 1, memoryMb: 64 }));
          if (res) mine.push(res.instance.id);
        } else if (type === 'evacuate') {
          const host = pick(['local-1', 'local-2']);
          res = await tolerant(() => api('POST', `/v1/hosts/${host}/evacuate`, { concurrency: 3 }));
          // Maintenance over: the host takes work again once its evacuation has ended.
          if (res?.operation) void settle(res.operation.id, 1000).then(() => tolerant(() => api('PATCH', `/v1/hosts/${host}`, { state: 'enabled' })), () => undefined);
        } else {
          const id = pick(mine);
          const url = type === 'delete' ? `/v1/instances/${id}` : type === 'migrate' ? `/v1/instances/${id}/migrate`
            : type === 'snapshot' ? `/v1/instances/${id}/snapshots` : `/v1/instances/${id}/actions`;
          res = await tolerant(() => api(type === 'delete' ? 'DELETE' : 'POST', url, type === 'stop' || type === 'start' ? { action: type } : type === 'migrate' ? { snapshot: 'none' } : undefined));
          if (type === 'delete' && res) mine.splice(mine.indexOf(id), 1);
        }
        count(type, res ? 'accepted' : 'refused while down');
        if (res?.operation) void settle(res.operation.id, 1000).then((op) => count(type, op.state), () => count(type, 'unsettled'));
      } catch (err) {
        count(type, /: 409 /.test(String(err)) ? 'refused (409)' : /: 422 /.test(String(err)) ? 'refused (422)' : 'refused');
      }
      await sleep(500 + Math.random() * 1500);
    }
  })();

  // The faults, spread over the operations.
  const injected: string[] = [];
  const faults = (async () => {
    for (let i = 0; i < FAULTS; i++) {
      await sleep(3000 + Math.random() * 8000);
      const kind = pick(Object.keys(FAULT_KINDS)) as keyof typeof FAULT_KINDS;
      console.log(`fault: ${kind}`);
      injected.push(kind);
      await FAULT_KINDS[kind]();
    }
  })();
  await Promise.all([operations, faults]);

  // Settle: every operation ends (repairs included), then the checker.
  console.log('waiting for every operation to end ...');
  await tolerant(() => api('GET', '/healthz'));
  const deadline = Date.now() + 10 * 60_000;
  let report: { ok: boolean; violations: unknown[]; runningOperations: number } = { ok: false, violations: [], runningOperations: -1 };
  while (Date.now() < deadline) {
    const out = await new Promise<string>((resolve) => {
      const child = spawn(process.execPath, [path.join(__dirname, '..', 'tools', 'check.js'), '--settled', '--json'], { stdio: ['ignore', 'pipe', 'inherit'] });
      let text = '';
      child.stdout.on('data', (d) => { text += d; });
      child.on('close', () => resolve(text));
    });
    try { report = JSON.parse(out); } catch { /* not up yet */ }
    if (report.ok) break;
    await sleep(5000);
  }
  for (const h of ['local-1', 'local-2']) await tolerant(() => api('PATCH', `/v1/hosts/${h}`, { state: 'enabled' }));
  for (const id of mine) await tolerant(() => api('DELETE', `/v1/instances/${id}`)).catch(() => undefined);

  const result = { benchmark: 'chaos', at: new Date().toISOString(), operations: ran, faults: injected, violations: report.violations, ok: report.ok };
  console.log(`operations: ${JSON.stringify(ran)}`);
  console.log(`faults injected (${injected.length}): ${injected.join(', ')}`);
  console.log(`invariants violated: ${report.violations.length}${report.ok ? '' : ` ${JSON.stringify(report.violations, null, 1)}`}`);
  console.log(`written to ${writeResult('chaos', result)}`);
  if (!report.ok) process.exitCode = 1;
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
