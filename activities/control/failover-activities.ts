import crypto from 'node:crypto';
import { execFile } from 'node:child_process';
import type { Knex } from 'knex';
import { failoverCandidates, hostFacts, markFenced, type FencedBy, type HostFacts } from '../../db/fencing';
import { insertOperation, nextSequence, type OpRef } from '../../db/operations';
import { ConflictError, StateConflictError } from '../../lib/errors';
import { HOLDING_STATES } from '../../lib/instance-states';
import { inRun } from './instance-activities';

export interface FailoverDeps { db: Knex; hostLiveSeconds: number; deadAfterSeconds: number; selfFenceSeconds: number; failoverConcurrency: number; sourceScheduleToStartSeconds: number }
export type Facts = HostFacts & { deadAfterSeconds: number; selfFenceSeconds: number };

/** A fence command is an argument vector: an absolute program and plain arguments, never a shell line. */
export function checkFenceCommand(argv: unknown): string[] {
  if (!Array.isArray(argv) || argv.length === 0 || argv.length > 32) throw new StateConflictError('a fence command is an array of 1 to 32 arguments');
  for (const a of argv) if (typeof a !== 'string' || a.length === 0 || a.length > 512 || /[\0\n]/.test(a)) throw new StateConflictError('a fence command argument must be a non-empty line of at most 512 characters');
  if (!argv[0].startsWith('/')) throw new StateConflictError('a fence command starts with an absolute path');
  return argv as string[];
}

function runFenceCommand(argv: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(argv[0], argv.slice(1), { timeout: 120_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`fence command failed: ${String(stderr || err.message).trim().split('\n').pop()}`));
      else resolve(String(stdout).trim().split('\n').pop() ?? '');
    });
  });
}

// Host failure: the facts the liveness rule needs, fencing, and the host watch's failovers.
export function createFailoverActivities(deps: FailoverDeps) {
  const { db } = deps;
  return {
    async hostFacts(hostId: string): Promise<Facts> {
      const facts = await hostFacts(db, hostId, deps.hostLiveSeconds);
      if (!facts) throw new StateConflictError(`host ${hostId} does not exist`);
      return { ...facts, deadAfterSeconds: deps.deadAfterSeconds, selfFenceSeconds: deps.selfFenceSeconds };
    },

    /**
     * A dead host fenced before anything of it is rebuilt elsewhere, in this order: its fence command
     * runs (a power-off, say); or an admin said it is fenced (since it was last heard); or its zone
     * has automatic failover and it has been silent longer than its watchdog takes to fence it. Else
     * nothing is rebuilt: a business failure that says what to do.
     */
    async fenceHost(op: OpRef, hostId: string): Promise<{ by: FencedBy; detail: string }> {
      await inRun(db, op, async () => undefined);
      const facts = await hostFacts(db, hostId, deps.hostLiveSeconds);
      if (!facts) throw new StateConflictError(`host ${hostId} does not exist`);
      if (facts.fenceCommand) {
        const out = await runFenceCommand(checkFenceCommand(facts.fenceCommand));
        await markFenced(db, hostId, 'command', out || 'the fence command succeeded');
        return { by: 'command', detail: out };
      }
      const silentSince = facts.lastHeartbeatAt ? new Date(facts.lastHeartbeatAt).getTime() : 0;
      if (facts.fencedAt && new Date(facts.fencedAt).getTime() >= silentSince) return { by: facts.fencedBy ?? 'admin', detail: 'fenced since it was last heard from' };
      if (facts.autoFailover && (facts.heartbeatAgeSeconds ?? Infinity) >= deps.deadAfterSeconds) {
        await markFenced(db, hostId, 'self', `silent ${Math.round(facts.heartbeatAgeSeconds ?? 0)} s, longer than its watchdog takes to fence it (${deps.selfFenceSeconds} s)`);
        return { by: 'self', detail: 'its watchdog fenced it' };
      }
      throw new ConflictError(`host ${hostId} is not answering and is not fenced: its instances may still run. Power it off and evacuate it with {"fenced": true}, give it a fence command, or turn on automatic failover in zone ${facts.zoneId}`);
    },

    async failoverCandidates(): Promise<string[]> {
      return failoverCandidates(db, deps.deadAfterSeconds);
    },

    /** The host watch's evacuation of a dead host: an operation row like the API's, with no requester. */
    async openFailover(hostId: string): Promise<{ workflowId: string; input: Record<string, unknown> } | null> {
      return db.transaction(async (trx) => {
        const host = await trx('hosts').where({ id: hostId }).forUpdate().first();
        if (!host || host.state === 'draining') return null;
        const sequence = await nextSequence(trx, { host_id: hostId }, 'evacuate');
        const operationId = crypto.randomUUID();
        const workflowId = `host-${hostId}-evacuate-${sequence}`;
        const input = { operationId, hostId, concurrency: deps.failoverConcurrency, requestedBy: null, sourceScheduleToStartSeconds: deps.sourceScheduleToStartSeconds };
        try {
          await insertOperation(trx, { id: operationId, type: 'evacuate', workflowId, workflowType: 'evacuateHost', requestedBy: null, hostId, priorState: host.state, input: [input] });
        } catch (err) {
          if (err instanceof ConflictError) return null;
          throw err;
        }
        await trx('hosts').where({ id: hostId }).update({ state: 'draining' });
        return { workflowId, input };
      });
    },

    /** Repairs waiting on a host (with backoff) that its fencing lets finish now: their workflow ids. */
    async repairsWaitingOn(op: OpRef, hostId: string): Promise<string[]> {
      return inRun(db, op, (trx) => trx('operations as o').join('instances as i', 'i.id', 'o.instance_id')
        .where({ 'o.type': 'repair', 'o.state': 'running' })
        .where((q) => q.where('i.host_id', hostId).orWhere('i.target_host_id', hostId)).pluck('o.workflow_id'));
    },

    /** What the host's last evacuation moved away and is still live elsewhere: what a restore brings back. */
    async movedAway(op: OpRef, hostId: string): Promise<string[]> {
      return inRun(db, op, async (trx) => {
        const last = await trx('operations').where({ host_id: hostId, type: 'evacuate', state: 'succeeded' }).orderBy('finished_at', 'desc').first('result');
        const moved: string[] = (last?.result as { moved?: string[] } | null)?.moved ?? [];
        if (moved.length === 0) return [];
        return trx('instances').whereIn('id', moved).whereIn('state', HOLDING_STATES).whereNot({ host_id: hostId }).orderBy('created_at').pluck('id');
      });
    },
  };
}
export type FailoverActivities = ReturnType<typeof createFailoverActivities>;
