export { createInstance } from './create-instance';
export { deleteInstance } from './delete-instance';
export { ipPoolHealth } from './ip-pool-health';
export { convertImage } from './convert-image';
