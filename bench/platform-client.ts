import fs from 'node:fs';
import path from 'node:path';
import { loadConfig } from '../lib/config';

/**
 * The benchmarks' way to the platform `npm run up` started: its admin token, its built images,
 * and an operation waited on until it settles. Every wait is bounded by one deadline.
 */
export function platformClient(deadlineMinutes: number) {
  const config = loadConfig();
  const base = `http://${config.apiHost}:${config.apiPort}`;
  const token = fs.readFileSync(path.join(config.dataDir, 'admin-token'), 'utf8').trim();
  const manifest = JSON.parse(fs.readFileSync(path.join(config.dataDir, 'images', 'manifest.json'), 'utf8'));
  const deadline = Date.now() + deadlineMinutes * 60_000;
  const checkDeadline = () => { if (Date.now() > deadline) throw new Error('benchmark deadline passed'); };

  async function api(method: string, url: string, body?: unknown): Promise<any> {
    const res = await fetch(`${base}${url}`, {
      method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: body ? JSON.stringify(body) : undefined,
    });
    const text = await res.text();
    if (res.status >= 400) throw new Error(`${method} ${url}: ${res.status} ${text}`);
    return text ? JSON.parse(text) : {};
  }

  async function settle(operationId: string, pollMs = 200): Promise<any> {
    for (;;) {
      checkDeadline();
      const op = await api('GET', `/v1/operations/${operationId}`);
      if (op.state !== 'running') return op;
      await new Promise((r) => setTimeout(r, pollMs));
    }
  }

  return { config, manifest, api, settle, checkDeadline };
}
