import { useState } from 'react';
import { ok, type Schemas, type VcloudClient } from './api';
import { useLoad, usePager } from './hooks';
import { Pager, Problem, Table, dash } from './widgets';

type AddressState = 'free' | 'allocated' | 'reserved' | 'quarantined';

/** A pool's addresses and their states, a page at a time; quarantined ones (the IP-health check's findings) stand out. */
function Addresses({ api, pool }: { api: VcloudClient; pool: Schemas['Pool'] }) {
  const pager = usePager();
  const [state, setState] = useState<AddressState | ''>('');
  const list = useLoad(async () => ok(await api.GET('/v1/pools/{id}/addresses', {
    params: { path: { id: pool.id }, query: { limit: 50, cursor: pager.cursor, ...(state ? { state } : {}) } },
  })), [api, pool.id, pager.cursor, state]);
  return (
    <div className="card addresses">
      <h4>Pool {pool.firstIp} - {pool.lastIp}</h4>
      <label>State<select value={state} onChange={(e) => { setState(e.target.value as AddressState | ''); pager.first(); }}>
        <option value="">all</option><option>free</option><option>allocated</option><option>reserved</option><option>quarantined</option>
      </select></label>
      <Table rows={list.data?.items ?? []} empty="No addresses." rowClass={(a) => `addr-${a.state}`} columns={[
        ['Address', (a) => a.address], ['State', (a) => <span data-address-state={a.state}>{a.state}</span>], ['Instance', (a) => dash(a.instanceId)],
      ]} />
      <Pager pager={pager} next={list.data?.next} />
      <Problem error={list.error} />
    </div>
  );
}

function Zone({ api, zone }: { api: VcloudClient; zone: Schemas['Zone'] }) {
  const pools = useLoad(async () => ok(await api.GET('/v1/zones/{id}/pools', { params: { path: { id: zone.id } } })).items, [api, zone.id]);
  const runs = useLoad(async () => ok(await api.GET('/v1/ip-health/runs', { params: { query: { zone: zone.id, limit: 5 } } })).items, [api, zone.id]);
  return (
    <div className="card zone">
      <h3>{zone.id} <span className="muted">{zone.subnet} via {zone.gateway} on {zone.bridge}</span></h3>
      {(pools.data ?? []).map((p) => <Addresses key={p.id} api={api} pool={p} />)}
      <h4>IP-health runs</h4>
      <Table rows={runs.data ?? []} empty="No runs yet." columns={[['At', (r) => r.at], ['Findings', (r) => <code>{JSON.stringify({ ...r, at: undefined, workflowId: undefined })}</code>]]} />
      <Problem error={pools.error ?? runs.error} />
    </div>
  );
}

export function ZonesPage({ api }: { api: VcloudClient }) {
  const pager = usePager();
  const zones = useLoad(async () => ok(await api.GET('/v1/zones', { params: { query: { limit: 10, cursor: pager.cursor } } })), [api, pager.cursor]);
  const [open, setOpen] = useState<string | null>(null);
  return (
    <>
      <h2>Zones</h2>
      <Table rows={zones.data?.items ?? []} empty="No zones." columns={[
        ['Zone', (z) => <a href="#/zones" data-zone={z.id} onClick={(e) => { e.preventDefault(); setOpen(z.id); }}>{z.id}</a>],
        ['Subnet', (z) => z.subnet], ['Bridge', (z) => z.bridge], ['Automatic failover', (z) => (z.autoFailover ? 'on' : 'off')],
      ]} />
      <Pager pager={pager} next={zones.data?.next} />
      <Problem error={zones.error} />
      {(zones.data?.items ?? []).filter((z) => z.id === open).map((z) => <Zone key={z.id} api={api} zone={z} />)}
    </>
  );
}
