import { ok, type Instance, type VcloudClient } from './api';
import { useLoad, usePager } from './hooks';
import { Pager, Problem, State, Table, dash } from './widgets';

/** The caller's instances (an admin's: everyone's), a page at a time, refreshed every few seconds. */
export function InstancesPage({ api, admin }: { api: VcloudClient; admin: boolean }) {
  const pager = usePager();
  const { data, error } = useLoad(async () => ok(await api.GET('/v1/instances', { params: { query: { limit: 20, cursor: pager.cursor } } })), [api, pager.cursor], 3000);
  return (
    <>
      <h2>Instances</h2>
      <p><a href="#/create">Create an instance</a></p>
      <Problem error={error} />
      <Table<Instance> rows={data?.items ?? []} empty="No instances yet." columns={[
        ['Name', (i) => <a href={`#/instances/${i.id}`} data-name={i.name}>{i.name}</a>],
        ['State', (i) => <State state={i.state} />],
        ['IP', (i) => <span className="ip">{dash(i.ip)}</span>],
        ['Host', (i) => dash(i.hostId)],
        ['Kind', (i) => i.kind],
        ['Size', (i) => `${i.vcpus} vCPU, ${i.memoryMb} MB, ${i.diskGb} GB`],
        ['Image', (i) => i.image],
        ...(admin ? [['Owner', (i: Instance) => dash(i.ownerId)] as [string, (i: Instance) => string]] : []),
      ]} />
      <Pager pager={pager} next={data?.next} />
    </>
  );
}
