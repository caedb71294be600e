import { useState } from 'react';
import { describe, ok, type Operation, type VcloudClient } from './api';
import { useLoad } from './hooks';
import { OperationView } from './operation';
import { SeriesChart } from './charts';
import { Problem, State, Table, dash } from './widgets';

const ACTIONS: Record<string, ('start' | 'stop' | 'pause' | 'resume' | 'reboot')[]> = {
  running: ['stop', 'pause', 'reboot'], stopped: ['start'], paused: ['resume'],
};

/** One instance: its facts, actions, resize, snapshots, delete, its operations and its charts. */
export function InstancePage({ api, id, onChange }: { api: VcloudClient; id: string; onChange: () => void }) {
  const path = { params: { path: { id } } };
  const inst = useLoad(async () => ok(await api.GET('/v1/instances/{id}', path)), [api, id], 3000);
  const snaps = useLoad(async () => ok(await api.GET('/v1/instances/{id}/snapshots', path)).items, [api, id], 5000);
  const metrics = useLoad(async () => {
    const r = await api.GET('/v1/instances/{id}/metrics', { params: { path: { id }, query: { range: '15m', step: '15s' } } });
    if (r.response.status === 503) return null;
    return ok(r).series as Record<string, [number, number][]>;
  }, [api, id], 15_000);
  const [op, setOp] = useState<Operation | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [size, setSize] = useState({ vcpus: '', memoryMb: '', diskGb: '', allowMigrate: false });

  const start = async (call: () => Promise<{ operation: Operation }>) => {
    setError(null);
    try {
      setOp((await call()).operation);
    } catch (e) {
      setError(describe(e));
    }
  };
  const i = inst.data;
  if (!i) return <><Problem error={inst.error} />{!inst.error && <p className="muted">loading...</p>}</>;
  const num = (v: string) => (v === '' ? undefined : Number(v));
  return (
    <>
      <h2>{i.name} <State state={i.state} /></h2>
      <div className="card">
        <div>IP <strong className="ip">{dash(i.ip)}</strong> &middot; MAC {dash(i.mac)} &middot; host {dash(i.hostId)} &middot; {i.kind} &middot; {i.image}</div>
        <div>{i.vcpus} vCPUs (cpuset {dash(i.cpuset?.join(','))}), {i.memoryMb} MB, {i.diskGb} GB</div>
        {i.failure && <div className="problem">{i.failure}</div>}
      </div>
      <p>
        {(ACTIONS[i.state] ?? []).map((a) => (
          <button key={a} onClick={() => start(async () => ok(await api.POST('/v1/instances/{id}/actions', { ...path, body: { action: a } })))}>{a}</button>
        ))}{' '}
        <button onClick={() => start(async () => ok(await api.POST('/v1/instances/{id}/snapshots', { ...path, body: {} })))}>snapshot</button>{' '}
        <button onClick={() => window.confirm(`Delete ${i.name}?`) && start(async () => { const a = ok(await api.DELETE('/v1/instances/{id}', path)); onChange(); return a; })}>delete</button>
      </p>
      <form className="inline" onSubmit={(e) => {
        e.preventDefault();
        void start(async () => ok(await api.POST('/v1/instances/{id}/resize', {
          ...path, body: { vcpus: num(size.vcpus), memoryMb: num(size.memoryMb), diskGb: num(size.diskGb), ...(size.allowMigrate ? { allowMigrate: true } : {}) },
        })));
      }}>
        <label>vCPUs<input type="number" min={1} value={size.vcpus} placeholder={String(i.vcpus)} onChange={(e) => setSize({ ...size, vcpus: e.target.value })} /></label>
        <label>Memory (MB)<input type="number" min={16} value={size.memoryMb} placeholder={String(i.memoryMb)} onChange={(e) => setSize({ ...size, memoryMb: e.target.value })} /></label>
        <label>Disk (GB)<input type="number" min={i.diskGb} value={size.diskGb} placeholder={String(i.diskGb)} onChange={(e) => setSize({ ...size, diskGb: e.target.value })} /></label>
        <label><span><input type="checkbox" checked={size.allowMigrate} onChange={(e) => setSize({ ...size, allowMigrate: e.target.checked })} /> move if no room</span></label>
        <button type="submit">resize</button>
      </form>
      <Problem error={error} />
      {op && <OperationView key={op.id} api={api} first={op} onEnd={() => { inst.reload(); snaps.reload(); onChange(); }} />}
      <h3>Snapshots</h3>
      <Table rows={snaps.data ?? []} empty="No snapshots." columns={[['Id', (s) => s.id], ['State', (s) => <State state={s.state} />], ['Taken', (s) => s.createdAt]]} />
      <h3>Metrics (last 15 minutes)</h3>
      {metrics.error && !(metrics.error.startsWith('503')) && <Problem error={metrics.error} />}
      {metrics.data === null && !metrics.error && <p className="muted">Monitoring is unavailable now (Prometheus does not answer).</p>}
      {metrics.data && (
        <div className="charts">
          <SeriesChart title="CPU" series={metrics.data} keys={['cpuPercent']} unit="% of its vCPUs" />
          <SeriesChart title="Memory" series={metrics.data} keys={['memoryUsedBytes', 'memoryLimitBytes']} unit="bytes" />
          <SeriesChart title="Disk" series={metrics.data} keys={['diskReadBytesPerSecond', 'diskWriteBytesPerSecond']} unit="bytes/s" />
          <SeriesChart title="Network" series={metrics.data} keys={['networkReceiveBytesPerSecond', 'networkTransmitBytesPerSecond']} unit="bytes/s" />
        </div>
      )}
    </>
  );
}
