import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { DATA, TEST_API, TEST_PROMETHEUS_ADDR } from './env';
import { adminToken } from './platform';
import { waitUntil } from './global-setup';

/**
 * A real Prometheus (Debian's) at the address the test API queries, finding the agents through the API's
 * HTTP service discovery with the admin token. `stop` ends it (by its pid) and waits for it.
 */
export async function startPrometheus(name: string): Promise<{ stop: () => Promise<void> }> {
  const dir = path.join(DATA, name);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'token'), adminToken(), { mode: 0o600 });
  fs.writeFileSync(path.join(dir, 'prometheus.yml'), [
    'global:', '  scrape_interval: 2s', 'scrape_configs:', '  - job_name: vcloud-agents', '    http_sd_configs:',
    `      - url: ${TEST_API}/v1/monitoring/targets`, '        refresh_interval: 5s', '        authorization:', '          type: Bearer', `          credentials_file: ${path.join(dir, 'token')}`, '',
  ].join('\n'));
  const log = fs.openSync(path.join(dir, 'prometheus.log'), 'a');
  const prometheus: ChildProcess = spawn('prometheus', [`--config.file=${path.join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${path.join(dir, 'data')}`,
    `--web.listen-address=${TEST_PROMETHEUS_ADDR}`, '--storage.tsdb.retention.time=1h'], { stdio: ['ignore', log, log] });
  const exited = new Promise((r) => prometheus.once('exit', r));
  const stop = async () => {
    prometheus.kill('SIGTERM');
    await exited;
  };
  try {
    await waitUntil('Prometheus to be ready', async () => (await fetch(`http://${TEST_PROMETHEUS_ADDR}/-/ready`)).ok, 30_000);
  } catch (err) {
    await stop();
    throw err;
  }
  return { stop };
}
