import fs from 'node:fs';
import path from 'node:path';
import { Context } from '@temporalio/activity';
import type { Knex } from 'knex';
import { DirImageStore } from '../../images/image-store';
import { beginRegistryGc, endRegistryGc, storeReferences } from '../../db/registry-maintenance';
import { run } from '../../host/run';

export interface StorageGcDeps {
  db: Knex;
  imageStoreDir: string;
  /** The registry's own config file and storage root, where this worker can reach them; unset: no registry collection here. */
  registryConfig?: string;
  registryDataDir?: string;
  registryBin: string;
  registryGcLeaseSeconds: number;
  /** A file nobody names is kept this long first: an upload or a snapshot may be writing it. */
  storeGraceSeconds: number;
}

export interface RegistryCollection { collected: boolean; reason?: string; bytesBefore?: number; bytesAfter?: number }
export interface StoreSweep { removed: string[]; bytesFreed: number; kept: number }

/** Bytes of the regular files under `dir`, links not followed. */
async function dirBytes(dir: string): Promise<number> {
  let total = 0;
  const walk = async (d: string): Promise<void> => {
    for (const e of await fs.promises.readdir(d, { withFileTypes: true }).catch(() => [])) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else if (e.isFile()) total += (await fs.promises.lstat(p)).size;
    }
  };
  await walk(dir);
  return total;
}

/**
 * The storage garbage collection: the registry's blobs that no manifest names any more (their
 * manifests were deleted with their snapshots and images), and the image store's files that no
 * image or snapshot names.
 */
export function createStorageGcActivities(deps: StorageGcDeps) {
  const { db } = deps;
  const store = new DirImageStore(deps.imageStoreDir);
  const configured = () => Boolean(deps.registryConfig && deps.registryDataDir && fs.existsSync(deps.registryConfig));
  return {
    async beginRegistryGc(by: string): Promise<{ started: boolean; reason?: string }> {
      if (!configured()) return { started: false, reason: 'registry collection is not configured on this control worker (VCLOUD_REGISTRY_CONFIG, VCLOUD_REGISTRY_DATA_DIR)' };
      return beginRegistryGc(db, by, deps.registryGcLeaseSeconds);
    },
    async endRegistryGc(by: string): Promise<void> {
      await endRegistryGc(db, by);
    },
    /** `garbage-collect` of the registry's own binary, on its storage; idempotent (a second run finds nothing more). */
    async collectRegistry(): Promise<RegistryCollection> {
      const beat = setInterval(() => Context.current().heartbeat(), 5_000);
      try {
        const bytesBefore = await dirBytes(deps.registryDataDir!);
        await run(deps.registryBin, ['garbage-collect', deps.registryConfig!], (deps.registryGcLeaseSeconds - 60) * 1000);
        return { collected: true, bytesBefore, bytesAfter: await dirBytes(deps.registryDataDir!) };
      } finally {
        clearInterval(beat);
      }
    },
    async sweepImageStore(): Promise<StoreSweep> {
      // Listed before the references are read: a file made after the read is not in the list.
      const objects = await store.list();
      const { locations, makingIds } = await storeReferences(db);
      const cutoff = Date.now() - deps.storeGraceSeconds * 1000;
      const removed: string[] = [];
      let bytesFreed = 0;
      for (const o of objects) {
        if (locations.has(o.location) || makingIds.some((id) => o.key.includes(id)) || o.modifiedAt.getTime() > cutoff) continue;
        await store.delete(o.location);
        removed.push(o.key);
        bytesFreed += o.sizeBytes;
      }
      return { removed, bytesFreed, kept: objects.length - removed.length };
    },
  };
}
export type StorageGcActivities = ReturnType<typeof createStorageGcActivities>;
