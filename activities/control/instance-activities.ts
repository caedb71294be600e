import type { Knex } from 'knex';
import { claimHost, releaseHost, type Claim } from '../../db/placement';
import { allocateAddress, releaseAddress, type Allocation } from '../../db/ipam';
import { getInstance, setInstanceState, type InstanceState } from '../../db/instances';
import { finishOperation, setOperationHost } from '../../db/operations';
import { getImage } from '../../db/images';
import { getZone } from '../../db/zones';
import { parseCidr } from '../../lib/net';
import { permanentOnKnown } from '../failures';
import type { InstanceSpec } from '../../drivers/instance-driver';

export interface ControlDeps {
  db: Knex;
  ratios: { cpu: number; memory: number };
  hostLiveSeconds: number;
}

// Control-side activities: each one database side effect, idempotent, so Temporal may retry any.
export function createControlActivities({ db, ratios, hostLiveSeconds }: ControlDeps) {
  return {
    async placeInstance(instanceId: string, operationId: string): Promise<Claim> {
      return permanentOnKnown(async () => {
        const claim = await claimHost(db, instanceId, ratios, hostLiveSeconds);
        await setOperationHost(db, operationId, claim.hostId);
        return claim;
      });
    },

    async releaseHostCapacity(instanceId: string): Promise<void> {
      await releaseHost(db, instanceId);
    },

    async allocateIp(instanceId: string): Promise<Allocation> {
      return permanentOnKnown(() => db.transaction(async (trx) => {
        const instance = await trx('instances').where({ id: instanceId }).forUpdate().first();
        return allocateAddress(trx, instance);
      }));
    },

    async releaseIp(instanceId: string): Promise<void> {
      await db.transaction((trx) => releaseAddress(trx, instanceId));
    },

    /** Everything the host needs, read in one place so the host never reads the database. */
    async getInstanceSpec(instanceId: string): Promise<InstanceSpec & { hostId: string | null }> {
      const instance = await getInstance(db, instanceId);
      if (!instance) throw new Error(`instance ${instanceId} not found`);
      const image = await getImage(db, instance.image_id);
      const zone = await getZone(db, instance.zone_id);
      if (!image || !zone) throw new Error(`instance ${instanceId} refers to a missing image or zone`);
      return {
        instanceId, kind: instance.kind, hostname: instance.hostname ?? instance.name, hostId: instance.host_id,
        image: { id: image.id, kind: image.kind, location: image.location, digest: image.digest, boot: image.boot },
        vcpus: instance.vcpus, memoryMb: instance.memory_mb, diskGb: instance.disk_gb, cpuset: instance.cpuset ?? [],
        network: {
          bridge: zone.bridge, ip: instance.ip ?? '', prefix: parseCidr(zone.subnet).prefix, gateway: zone.gateway, mac: instance.mac ?? '',
        },
      };
    },

    async markInstance(instanceId: string, state: InstanceState, failure: string | null = null): Promise<void> {
      await setInstanceState(db, instanceId, state, failure);
    },

    async finishOperation(operationId: string, state: 'succeeded' | 'failed', error?: string, result?: unknown): Promise<void> {
      await finishOperation(db, operationId, { state, error, result });
    },
  };
}

export type ControlActivities = ReturnType<typeof createControlActivities>;
