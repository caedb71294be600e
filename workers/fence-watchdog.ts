import fs from 'node:fs';
import { loadConfig } from '../lib/config';
import { createLogger } from '../lib/logger';
import { createDrivers, takeOffNetwork } from './agent/drivers';
import { beatFile, fenceFile, readJson, writeAtomically, type AgentBeat, type SelfFence } from './agent/control-plane';

/**
 * The host's fence watchdog: a small process beside the agent, with its own access to the engines
 * (as Proxmox's watchdog beside its HA manager). It fences the host, taking every instance off the
 * zone network, when its zone has automatic failover and the host has been cut off from the control
 * plane for VCLOUD_SELF_FENCE_SECONDS: the agent's beats say it could not reach Postgres nor
 * Temporal, or the agent stopped beating at all (crashed, hung). Before fencing it asks the zone's
 * other agents whether they reach the control plane (as medik8s self-node-remediation asks its
 * peers): if none of them does, the control plane is down, not this host, and nobody fences. The
 * control plane declares a host dead only after VCLOUD_DEAD_AFTER_SECONDS, which is longer.
 */
async function askPeer(address: string): Promise<boolean | null> {
  try {
    const res = await fetch(`http://${address}/v1/control-plane`, { signal: AbortSignal.timeout(1000) });
    if (!res.ok) return null;
    return Boolean(((await res.json()) as { reachable?: boolean }).reachable);
  } catch {
    return null;
  }
}

async function main() {
  const config = loadConfig();
  const log = createLogger(`fence-watchdog:${config.hostId}`, config.logLevel);
  const beats = beatFile(config.watchdogDir, config.hostId);
  const fenced = fenceFile(config.watchdogDir, config.hostId);
  let quietAbout = 0;
  log.info({ selfFenceSeconds: config.selfFenceSeconds }, 'fence watchdog running');

  const tick = async () => {
    const beat = readJson<AgentBeat>(beats);
    if (!beat?.autoFailover || fs.existsSync(fenced)) return;
    const cutOffMs = Date.now() - beat.lastControlPlaneAt;
    if (cutOffMs < config.selfFenceSeconds * 1000) return;
    const answers = await Promise.all(beat.peers.map((p) => askPeer(p.address)));
    const heard = answers.filter((a): a is boolean => a !== null);
    if (heard.length > 0 && heard.every((reachable) => !reachable)) {
      // Nobody reaches the control plane: it is down, not this host. The data plane stays up.
      if (Date.now() - quietAbout > 60_000) log.warn({ cutOffSeconds: cutOffMs / 1000 }, 'cut off, but so are the peers: the control plane is down; not fencing');
      quietAbout = Date.now();
      return;
    }
    // The engines as they are now (one that was down when the watchdog started may be up).
    const instances = await takeOffNetwork(await createDrivers(config, log));
    writeAtomically(fenced, { at: Date.now(), instances } satisfies SelfFence);
    log.error({ cutOffSeconds: cutOffMs / 1000, peersReached: heard.filter(Boolean).length, instances }, 'cut off from the control plane: fenced this host (its instances are off the network)');
  };
  const timer = setInterval(() => void tick().catch((err) => log.error({ err: String(err) }, 'watchdog tick failed')), 1000);
  const stop = () => {
    clearInterval(timer);
    process.exit(0);
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
