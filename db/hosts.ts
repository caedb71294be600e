import type { Db } from './connection';
import { keysetPage, type Page, type PageRequest } from './page';
import { liveSince } from './host-liveness';

export interface NumaNode { id: number; cpus: number[]; memoryMb: number }
export interface HostRow {
  id: string; zone_id: string; state: string; vcpus: number; memory_mb: number; disk_gb: number;
  used_vcpus: number; used_memory_mb: number; used_disk_gb: number; numa: { nodes: NumaNode[] };
  kinds: string[]; last_heartbeat_at: Date | null;
  fence_command?: string[] | null; fenced_at?: Date | null; fenced_by?: string | null;
}
export interface HostRegistration {
  id: string; zoneId: string; vcpus: number; memoryMb: number; diskGb: number;
  numa: { nodes: NumaNode[] }; kinds: string[];
}

// bigint columns come back as strings from pg.
export function toHostRow(row: Record<string, unknown>): HostRow {
  return {
    ...(row as unknown as HostRow),
    memory_mb: Number(row.memory_mb), disk_gb: Number(row.disk_gb),
    used_memory_mb: Number(row.used_memory_mb), used_disk_gb: Number(row.used_disk_gb),
  };
}

/** The agent's own registration: capacity and topology are the machine's; state stays the operator's. */
export async function upsertHost(db: Db, h: HostRegistration): Promise<void> {
  await db('hosts')
    .insert({
      id: h.id, zone_id: h.zoneId, vcpus: h.vcpus, memory_mb: h.memoryMb, disk_gb: h.diskGb,
      numa: JSON.stringify(h.numa), kinds: h.kinds, last_heartbeat_at: db.fn.now(),
    })
    .onConflict('id')
    .merge(['zone_id', 'vcpus', 'memory_mb', 'disk_gb', 'numa', 'kinds', 'last_heartbeat_at']);
}

export async function heartbeat(db: Db, hostId: string): Promise<void> {
  await db('hosts').where({ id: hostId }).update({ last_heartbeat_at: db.fn.now() });
}

/** One statement for many hosts' heartbeats (the simulated fleet's agents share a process). */
export async function heartbeatMany(db: Db, hostIds: string[]): Promise<void> {
  await db('hosts').whereIn('id', hostIds).update({ last_heartbeat_at: db.fn.now() });
}

export async function listHosts<T>(db: Db, page: PageRequest, map: (h: HostRow) => T): Promise<Page<T>> {
  return keysetPage(db('hosts').select('*'), { columns: ['id'] }, page, (r: Record<string, unknown>) => map(toHostRow(r)));
}

export async function getHost(db: Db, id: string): Promise<HostRow | undefined> {
  const row = await db('hosts').where({ id }).first();
  return row ? toHostRow(row) : undefined;
}

/** The argument vector that powers the host off (or null): run by the control worker before its instances are rebuilt elsewhere. */
export async function setFenceCommand(db: Db, id: string, argv: string[] | null): Promise<void> {
  await db('hosts').where({ id }).update({ fence_command: argv === null ? null : JSON.stringify(argv) });
}

export async function setHostState(db: Db, id: string, state: 'enabled' | 'draining' | 'disabled' | 'down'): Promise<void> {
  await db('hosts').where({ id }).update({ state });
}

/** The enabled host of `kind` heard from most recently, within `liveSeconds`. */
export async function pickLiveHost(db: Db, kind: string, liveSeconds: number, zoneId?: string): Promise<string | null> {
  const q = db('hosts').where({ state: 'enabled' }).whereRaw('? = any(kinds)', [kind])
    .where(liveSince(liveSeconds))
    .orderBy('last_heartbeat_at', 'desc');
  if (zoneId) q.where({ zone_id: zoneId });
  const row = await q.first('id');
  return row?.id ?? null;
}
