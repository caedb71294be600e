export { createInstance } from './create-instance';
export { deleteInstance } from './delete-instance';
export { ipPoolHealth } from './ip-pool-health';
export { convertImage } from './convert-image';
export { snapshotInstance } from './snapshot-instance';
export { migrateInstance } from './migrate-instance';
export { evacuateHost } from './evacuate-host';
export { instanceAction } from './instance-action';
