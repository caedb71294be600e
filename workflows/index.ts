export { createInstance } from './create-instance';
export { deleteInstance } from './delete-instance';
