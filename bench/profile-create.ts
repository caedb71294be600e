import { Client, Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { platformClient } from './platform-client';
import { directContainers } from './direct-docker';
import { temporalConnectionOptions } from '../lib/temporal-tls';
import { intArg, percentile, pool, writeResult } from './stats';

// Where one container create's time goes, read from its own Temporal history (no instrumentation
// in the code under test): the API until the workflow started, each workflow task (the worker's
// turn, with the control steps it runs as local activities), each host step's wait on the host's
// queue and its run on the host (the engines), and the close. Once one at a time, once `--batch`
// at once; the raw baseline (`docker run` + the same plumbing) runs in the same process.
const { config, manifest, api, settle } = platformClient(20);
const N = intArg('n', 10, 100);
const BATCH = intArg('batch', 20, 60);
const E = temporal.api.enums.v1.EventType;

type Breakdown = Record<string, number>;
const ms = (t: { seconds?: unknown; nanos?: number | null } | null | undefined) => Number(t?.seconds ?? 0) * 1000 + (t?.nanos ?? 0) / 1e6;

async function profileOf(client: Client, workflowId: string, postedAt: number): Promise<Breakdown> {
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  const events = history.events ?? [];
  const at = (i: number) => ms(events[i].eventTime);
  const b: Breakdown = { 'api until the workflow started': at(0) - postedAt };
  const add = (k: string, v: number) => { b[k] = (b[k] ?? 0) + v; };
  const scheduled = new Map<number, { name: string; at: number }>();
  const started = new Map<number, number>();
  let taskScheduledAt = 0;
  let taskStartedAt = 0;
  for (const [i, e] of events.entries()) {
    const t = at(i);
    switch (e.eventType) {
      case E.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED: taskScheduledAt = t; break;
      case E.EVENT_TYPE_WORKFLOW_TASK_STARTED: add('workflow task: wait for the worker', t - taskScheduledAt); taskStartedAt = t; break;
      case E.EVENT_TYPE_WORKFLOW_TASK_COMPLETED: add('workflow task: worker (control steps as local activities)', t - taskStartedAt); break;
      case E.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
        scheduled.set(Number(e.eventId), { name: e.activityTaskScheduledEventAttributes?.activityType?.name ?? '?', at: t }); break;
      case E.EVENT_TYPE_ACTIVITY_TASK_STARTED: {
        const s = scheduled.get(Number(e.activityTaskStartedEventAttributes?.scheduledEventId))!;
        add('host step: wait on the host queue', t - s.at);
        started.set(Number(e.activityTaskStartedEventAttributes?.scheduledEventId), t);
        break;
      }
      case E.EVENT_TYPE_ACTIVITY_TASK_COMPLETED: {
        const id = Number(e.activityTaskCompletedEventAttributes?.scheduledEventId);
        add(`host step: ${scheduled.get(id)!.name} (on the host)`, t - started.get(id)!);
        break;
      }
      default: break;
    }
  }
  b['workflow start to close'] = at(events.length - 1) - at(0);
  return b;
}

async function creates(client: Client, n: number, concurrency: number, tag: string) {
  const ids: string[] = [];
  const wallStart = performance.now();
  const profiles = await pool(Array.from({ length: n }, (_, i) => i), concurrency, async (i) => {
    const postedAt = Date.now();
    const { instance, operation } = await api('POST', '/v1/instances', {
      name: `prof-${tag}-${i}`, zone: 'default', kind: 'docker', image: 'busybox', vcpus: 1, memoryMb: 64, app: 'bench',
    });
    ids.push(instance.id);
    const op = await settle(operation.id, 100);
    if (op.state !== 'succeeded') throw new Error(`create ${instance.id} failed: ${op.error}`);
    const parts: Breakdown = { ...(await profileOf(client, operation.workflowId, postedAt)), total: Date.parse(op.finishedAt) - postedAt };
    return parts;
  });
  const wallMs = performance.now() - wallStart;
  await pool(ids, 5, async (id) => settle((await api('DELETE', `/v1/instances/${id}`)).operation.id));
  const keys = [...new Set(profiles.flatMap((p) => Object.keys(p)))];
  const p50 = Object.fromEntries(keys.map((k) => [k, Math.round(percentile(profiles.map((p) => p[k] ?? 0), 50))]));
  return { n, concurrency, wallMs: Math.round(wallMs), p50 };
}

function print(title: string, r: { p50: Breakdown }, directP50: number) {
  console.log(`\n${title} (p50 of each part, ms)`);
  for (const [k, v] of Object.entries(r.p50)) console.log(`  ${String(v).padStart(6)}  ${k}`);
  console.log(`  ${String(directP50).padStart(6)}  raw: docker run + the same plumbing; ratio ${(r.p50.total / directP50).toFixed(2)}`);
}

async function main() {
  const connection = await Connection.connect(temporalConnectionOptions(config));
  const client = new Client({ connection, namespace: config.temporalNamespace });
  try {
    const tag = Date.now().toString(36);
    const directOne = await directContainers(N, 1, manifest.docker.location);
    const one = await creates(client, N, 1, `${tag}-s`);
    const directBatch = await directContainers(BATCH, BATCH, manifest.docker.location);
    const batch = await creates(client, BATCH, BATCH, `${tag}-b`);
    const p50 = (runs: { ms: number }[]) => Math.round(percentile(runs.map((r) => r.ms), 50));
    print(`one at a time, ${N} creates`, one, p50(directOne.runs));
    print(`${BATCH} at once`, batch, p50(directBatch.runs));
    const result = {
      benchmark: 'profile-create', at: new Date().toISOString(),
      oneAtATime: { ...one, directP50Ms: p50(directOne.runs), ratio: +(one.p50.total / p50(directOne.runs)).toFixed(2) },
      batch: { ...batch, directP50Ms: p50(directBatch.runs), directWallMs: Math.round(directBatch.wallMs), ratio: +(batch.p50.total / p50(directBatch.runs)).toFixed(2) },
    };
    console.log(`written to ${writeResult('profile-create', result)}`);
  } finally {
    await connection.close();
  }
}

main().catch((err) => { console.error(err); process.exit(1); });
