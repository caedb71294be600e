import { useState } from 'react';
import { describe, ok, type Operation, type VcloudClient } from './api';
import { useLoad, usePager } from './hooks';
import { OperationView } from './operation';
import { Pager, Problem, State, Table, ago, dash } from './widgets';

/** Hosts with capacity, state and heartbeat; evacuate one and watch its progress. */
export function HostsPage({ api }: { api: VcloudClient }) {
  const pager = usePager();
  const hosts = useLoad(async () => ok(await api.GET('/v1/hosts', { params: { query: { limit: 50, cursor: pager.cursor } } })), [api, pager.cursor], 5000);
  const [op, setOp] = useState<Operation | null>(null);
  const [error, setError] = useState<string | null>(null);
  const evacuate = async (id: string) => {
    if (!window.confirm(`Evacuate ${id}? Every instance on it moves to another host.`)) return;
    setError(null);
    try { setOp(ok(await api.POST('/v1/hosts/{id}/evacuate', { params: { path: { id } }, body: {} })).operation); } catch (e) { setError(describe(e)); }
  };
  return (
    <>
      <h2>Hosts</h2>
      <Table rows={hosts.data?.items ?? []} empty="No hosts." columns={[
        ['Host', (h) => <span data-host={h.id}>{h.id}</span>], ['Zone', (h) => h.zone], ['State', (h) => <State state={h.state} />],
        ['vCPUs used', (h) => <span className="capacity">{h.usedVcpus} / {h.vcpus}</span>],
        ['Memory used (MB)', (h) => `${h.usedMemoryMb} / ${h.memoryMb}`], ['Disk used (GB)', (h) => `${h.usedDiskGb} / ${h.diskGb}`],
        ['Kinds', (h) => h.kinds.join(', ')], ['Heartbeat', (h) => ago(h.lastHeartbeatAt)], ['Fenced', (h) => dash(h.fencedBy)],
        ['', (h) => (h.state === 'enabled' ? <button onClick={() => evacuate(h.id)}>evacuate</button> : '')],
      ]} />
      <Pager pager={pager} next={hosts.data?.next} />
      <Problem error={error ?? hosts.error} />
      {op && <OperationView key={op.id} api={api} first={op} onEnd={() => hosts.reload()} />}
    </>
  );
}
