import { defineSearchAttributeKey, SearchAttributeType, TypedSearchAttributes } from '@temporalio/common';

// Registered on the Temporal server by scripts/lib.sh, so the UI can filter operations by them.
export const VcInstanceId = defineSearchAttributeKey('VcInstanceId', SearchAttributeType.KEYWORD);
export const VcHostId = defineSearchAttributeKey('VcHostId', SearchAttributeType.KEYWORD);
export const VcZone = defineSearchAttributeKey('VcZone', SearchAttributeType.KEYWORD);
export const VcOperation = defineSearchAttributeKey('VcOperation', SearchAttributeType.KEYWORD);

export function operationSearchAttributes(a: { instanceId?: string; hostId?: string | null; zone?: string; operation: string }): TypedSearchAttributes {
  const pairs = [{ key: VcOperation, value: a.operation }];
  if (a.instanceId) pairs.push({ key: VcInstanceId, value: a.instanceId });
  if (a.hostId) pairs.push({ key: VcHostId, value: a.hostId });
  if (a.zone) pairs.push({ key: VcZone, value: a.zone });
  return new TypedSearchAttributes(pairs);
}
