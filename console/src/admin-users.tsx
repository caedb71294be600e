import { useState } from 'react';
import { describe, ok, type Schemas, type VcloudClient } from './api';
import { useLoad, usePager } from './hooks';
import { Pager, Problem, Table, dash } from './widgets';

/** A user's tokens (issue one, shown once; revoke) and zone grants with their usage. */
function UserDetail({ api, user }: { api: VcloudClient; user: Schemas['User'] }) {
  const path = { params: { path: { id: user.id } } };
  const tokens = useLoad(async () => ok(await api.GET('/v1/users/{id}/tokens', path)).items, [api, user.id]);
  const grants = useLoad(async () => ok(await api.GET('/v1/users/{id}/grants', path)).items, [api, user.id]);
  const [issued, setIssued] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [grant, setGrant] = useState({ zone: '', maxVcpus: 4, maxMemoryMb: 4096, maxInstances: 4 });
  const act = async (fn: () => Promise<unknown>) => {
    setError(null);
    try { await fn(); } catch (e) { setError(describe(e)); }
  };
  return (
    <div className="card user-detail">
      <h3>{user.name}</h3>
      <h4>Tokens</h4>
      <Table rows={tokens.data ?? []} empty="No tokens." columns={[
        ['Id', (t) => t.id], ['Issued', (t) => t.createdAt], ['Revoked', (t) => dash(t.revokedAt)],
        ['', (t) => (t.revokedAt ? '' : <button onClick={() => act(async () => { ok(await api.DELETE('/v1/users/{id}/tokens/{tokenId}', { params: { path: { id: user.id, tokenId: t.id } } })); tokens.reload(); })}>revoke</button>)],
      ]} />
      <button onClick={() => act(async () => { setIssued(ok(await api.POST('/v1/users/{id}/tokens', path)).token); tokens.reload(); })}>Issue a token</button>
      {issued && <p>New token (shown once): <code>{issued}</code></p>}
      <h4>Grants and usage</h4>
      <Table rows={grants.data ?? []} empty="No grants." columns={[
        ['Zone', (g) => g.zone], ['vCPUs', (g) => `${g.usage.vcpus} of ${dash(g.maxVcpus)}`], ['Memory (MB)', (g) => `${g.usage.memoryMb} of ${dash(g.maxMemoryMb)}`],
        ['Instances', (g) => `${g.usage.instances} of ${dash(g.maxInstances)}`],
      ]} />
      <form className="inline" onSubmit={(e) => { e.preventDefault(); void act(async () => { ok(await api.PUT('/v1/users/{id}/grants/{zone}', { params: { path: { id: user.id, zone: grant.zone } }, body: { maxVcpus: grant.maxVcpus, maxMemoryMb: grant.maxMemoryMb, maxInstances: grant.maxInstances } })); grants.reload(); }); }}>
        <label>Zone<input value={grant.zone} onChange={(e) => setGrant({ ...grant, zone: e.target.value })} required /></label>
        <label>vCPUs<input type="number" value={grant.maxVcpus} onChange={(e) => setGrant({ ...grant, maxVcpus: Number(e.target.value) })} /></label>
        <label>Memory (MB)<input type="number" value={grant.maxMemoryMb} onChange={(e) => setGrant({ ...grant, maxMemoryMb: Number(e.target.value) })} /></label>
        <label>Instances<input type="number" value={grant.maxInstances} onChange={(e) => setGrant({ ...grant, maxInstances: Number(e.target.value) })} /></label>
        <button type="submit">Set grant</button>
      </form>
      <Problem error={error ?? tokens.error ?? grants.error} />
    </div>
  );
}

export function UsersPage({ api }: { api: VcloudClient }) {
  const pager = usePager();
  const users = useLoad(async () => ok(await api.GET('/v1/users', { params: { query: { limit: 20, cursor: pager.cursor } } })), [api, pager.cursor]);
  const [open, setOpen] = useState<Schemas['User'] | null>(null);
  const [form, setForm] = useState({ name: '', role: 'user' as 'user' | 'admin' });
  const [error, setError] = useState<string | null>(null);
  return (
    <>
      <h2>Users</h2>
      <Table rows={users.data?.items ?? []} empty="No users." columns={[
        ['Name', (u) => <a href="#/users" onClick={(e) => { e.preventDefault(); setOpen(u); }}>{u.name}</a>], ['Role', (u) => u.role], ['Id', (u) => u.id],
      ]} />
      <Pager pager={pager} next={users.data?.next} />
      <form className="inline" onSubmit={async (e) => {
        e.preventDefault();
        setError(null);
        try { ok(await api.POST('/v1/users', { body: form })); users.reload(); } catch (err) { setError(describe(err)); }
      }}>
        <label>Name<input value={form.name} onChange={(e) => setForm({ ...form, name: e.target.value })} required /></label>
        <label>Role<select value={form.role} onChange={(e) => setForm({ ...form, role: e.target.value as 'user' | 'admin' })}><option>user</option><option>admin</option></select></label>
        <button type="submit">Create user</button>
      </form>
      <Problem error={error ?? users.error} />
      {open && <UserDetail key={open.id} api={api} user={open} />}
    </>
  );
}
