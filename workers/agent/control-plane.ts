import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import type { Knex } from 'knex';
import type { Connection } from '@temporalio/client';
import type { Logger } from '../../lib/logger';
import { heartbeat } from '../../db/hosts';
import { agentPolicy, recordSelfFence } from '../../db/fencing';

/**
 * What the agent writes every beat for its host's fence watchdog (workers/fence-watchdog.ts): when
 * it last reached the control plane, and the zone's policy and peers as it last read them.
 */
export interface AgentBeat {
  hostId: string;
  at: number;
  lastControlPlaneAt: number;
  autoFailover: boolean;
  selfFenceSeconds: number;
  peers: { hostId: string; address: string }[];
}

/** What the watchdog leaves when it fenced the host; the agent reports it when it is back. */
export interface SelfFence { at: number; instances: string[] }

export const beatFile = (dir: string, hostId: string) => path.join(dir, `${hostId}.beat.json`);
export const fenceFile = (dir: string, hostId: string) => path.join(dir, `${hostId}.fenced.json`);

export function writeAtomically(file: string, value: unknown): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(`${file}.tmp`, JSON.stringify(value));
  fs.renameSync(`${file}.tmp`, file);
}

export function readJson<T>(file: string): T | null {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as T;
  } catch {
    return null;
  }
}

export interface ContactOptions {
  db: Knex; connection: Connection; hostId: string; heartbeatSeconds: number; selfFenceSeconds: number;
  watchdogDir: string; peerAddress: string; log: Logger;
  /** Test only: while this file exists the agent behaves as cut off from Postgres and Temporal. */
  partitionFile?: string;
}

/**
 * The agent's contact with the control plane. Every beat: the heartbeat write (Postgres) and a
 * cheap call to Temporal; the control plane counts as reached when either works. It writes the
 * beat file for the watchdog, reports a self-fence the watchdog did while it was cut off, and
 * answers its zone's other agents ("can you reach the control plane?") on its peer address.
 */
export class ControlPlaneContact {
  lastControlPlaneAt = Date.now();
  private policy: { autoFailover: boolean; peers: { hostId: string; address: string }[] } = { autoFailover: false, peers: [] };
  private timer?: NodeJS.Timeout;
  private server?: http.Server;

  constructor(private readonly o: ContactOptions) {
    // The policy as the last beat knew it: an agent that starts cut off still tells its watchdog.
    const last = readJson<AgentBeat>(beatFile(o.watchdogDir, o.hostId));
    if (last) this.policy = { autoFailover: last.autoFailover, peers: last.peers };
  }

  get partitioned(): boolean {
    return Boolean(this.o.partitionFile && fs.existsSync(this.o.partitionFile));
  }

  reachable(now = Date.now()): boolean {
    return now - this.lastControlPlaneAt < 3 * this.o.heartbeatSeconds * 1000;
  }

  start(): void {
    this.timer = setInterval(() => void this.beat(), this.o.heartbeatSeconds * 1000);
    void this.beat();
    if (this.o.peerAddress) this.serve(this.o.peerAddress);
  }

  stop(): void {
    clearInterval(this.timer);
    this.server?.close();
  }

  async beat(): Promise<void> {
    const { db, hostId, log } = this.o;
    let reached = false;
    if (!this.partitioned) {
      try {
        await heartbeat(db, hostId);
        this.policy = await agentPolicy(db, hostId);
        await this.reportSelfFence();
        reached = true;
      } catch (err) {
        log.warn({ err: String(err) }, 'heartbeat failed');
      }
      if (!reached) {
        reached = await this.o.connection.workflowService.getSystemInfo({}).then(() => true, () => false);
      }
    }
    if (reached) this.lastControlPlaneAt = Date.now();
    writeAtomically(beatFile(this.o.watchdogDir, hostId), {
      hostId, at: Date.now(), lastControlPlaneAt: this.lastControlPlaneAt, autoFailover: this.policy.autoFailover,
      selfFenceSeconds: this.o.selfFenceSeconds, peers: this.policy.peers,
    } satisfies AgentBeat);
  }

  private async reportSelfFence(): Promise<void> {
    const file = fenceFile(this.o.watchdogDir, this.o.hostId);
    const fence = readJson<SelfFence>(file);
    if (!fence) return;
    await recordSelfFence(this.o.db, this.o.hostId, new Date(fence.at), fence.instances);
    fs.rmSync(file, { force: true });
    this.o.log.warn({ at: new Date(fence.at), instances: fence.instances.length }, 'reported a self-fence: the reconciler puts back what was not rebuilt elsewhere');
  }

  private serve(address: string): void {
    const [host, port] = [address.slice(0, address.lastIndexOf(':')), Number(address.slice(address.lastIndexOf(':') + 1))];
    this.server = http.createServer((req, res) => {
      if (req.method !== 'GET' || req.url !== '/v1/control-plane') {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ hostId: this.o.hostId, reachable: this.reachable(), lastControlPlaneAt: this.lastControlPlaneAt }));
    });
    this.server.on('error', (err) => this.o.log.error({ err: String(err), address }, 'peer endpoint failed'));
    this.server.listen(port, host);
  }
}
