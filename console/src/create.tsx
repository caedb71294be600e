import { useState } from 'react';
import { describe, ok, type Me, type Operation, type VcloudClient } from './api';
import { useLoad } from './hooks';
import { OperationView } from './operation';
import { Problem } from './widgets';

/** What the caller's grant in the zone still allows (an admin: the create's own bounds). */
function room(me: Me, zone: string) {
  const g = me.grants.find((x) => x.zone === zone);
  if (me.user.role === 'admin') return { vcpus: 64, memoryMb: 512 * 1024, instances: Infinity, granted: true };
  if (!g) return { vcpus: 0, memoryMb: 0, instances: 0, granted: false };
  return {
    vcpus: g.maxVcpus === null ? 64 : g.maxVcpus - g.usage.vcpus,
    memoryMb: g.maxMemoryMb === null ? 512 * 1024 : g.maxMemoryMb - g.usage.memoryMb,
    instances: g.maxInstances === null ? Infinity : g.maxInstances - g.usage.instances,
    granted: true,
  };
}

export function CreatePage({ api, me, onCreated }: { api: VcloudClient; me: Me; onCreated: () => void }) {
  const zones = useLoad(async () => ok(await api.GET('/v1/zones', { params: { query: { limit: 1000 } } })).items, [api]);
  const images = useLoad(async () => ok(await api.GET('/v1/images', { params: { query: { limit: 1000 } } })).items, [api]);
  const [form, setForm] = useState({ name: '', zone: '', kind: 'docker' as 'docker' | 'kvm', image: '', vcpus: 1, memoryMb: 64, diskGb: 1 });
  const [error, setError] = useState<string | null>(null);
  const [op, setOp] = useState<Operation | null>(null);
  const zone = form.zone || zones.data?.[0]?.id || '';
  const left = room(me, zone);
  // A container runs a Docker image, a VM a template (either is converted on demand, but these start at once).
  const usable = (images.data ?? []).filter((i) => i.state === 'ready' && (form.kind === 'docker' ? i.kind === 'docker' : i.kind === 'tgz'));
  const set = (k: keyof typeof form) => (e: React.ChangeEvent<HTMLInputElement | HTMLSelectElement>) =>
    setForm({ ...form, [k]: e.target.type === 'number' ? Number(e.target.value) : e.target.value });

  const submit = async (e: React.FormEvent) => {
    e.preventDefault();
    setError(null);
    try {
      const answer = ok(await api.POST('/v1/instances', { body: { ...form, zone, image: form.image || usable[0]?.name || '' } }));
      setOp(answer.operation);
      onCreated();
    } catch (err) {
      setError(describe(err));
    }
  };
  return (
    <>
      <h2>Create an instance</h2>
      <form className="inline" onSubmit={submit}>
        <label>Name<input name="name" value={form.name} onChange={set('name')} required /></label>
        <label>Zone<select name="zone" value={zone} onChange={set('zone')}>{(zones.data ?? []).map((z) => <option key={z.id}>{z.id}</option>)}</select></label>
        <label>Kind<select name="kind" value={form.kind} onChange={set('kind')}><option value="docker">container</option><option value="kvm">VM</option></select></label>
        <label>Image<select name="image" value={form.image || usable[0]?.name || ''} onChange={set('image')}>{usable.map((i) => <option key={i.id}>{i.name}</option>)}</select></label>
        <label>vCPUs<input name="vcpus" type="number" min={1} max={Math.max(1, left.vcpus)} value={form.vcpus} onChange={set('vcpus')} /></label>
        <label>Memory (MB)<input name="memoryMb" type="number" min={16} max={Math.max(16, left.memoryMb)} value={form.memoryMb} onChange={set('memoryMb')} /></label>
        <label>Disk (GB)<input name="diskGb" type="number" min={1} max={4096} value={form.diskGb} onChange={set('diskGb')} /></label>
        <button type="submit" disabled={!left.granted || left.instances < 1}>Create</button>
      </form>
      <p className="muted grant">
        {left.granted ? `Your grant in ${zone} leaves ${left.vcpus === 64 && me.user.role === 'admin' ? 'no limit' : `${left.vcpus} vCPUs, ${left.memoryMb} MB and ${left.instances} instances`}.` : `You have no grant in ${zone}.`}
      </p>
      <Problem error={error ?? zones.error ?? images.error} />
      {op && <OperationView api={api} first={op} onEnd={onCreated} />}
      {op?.instanceId && <p><a href={`#/instances/${op.instanceId}`}>See the instance</a></p>}
    </>
  );
}
