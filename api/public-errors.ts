import type { OperationRow } from '../db/operations';

/**
 * What a user (not an admin) reads of a failure: never a host path, a command line, an engine's
 * stderr, host counts or host names. The platform's own answers to the request itself (a bad value,
 * something missing) are its own words and are kept; anything that went wrong below the API is said
 * in general terms, with the operation to quote to an administrator, who reads the whole reason.
 */
const OWN_WORDS = new Set(['ValidationError', 'NotFoundError']);
const IN_GENERAL: Record<string, string> = {
  CapacityError: 'the zone has no room for it now (hosts or addresses)',
  ConflictError: 'another change to the instance or its host came first',
  StateConflictError: 'another change to the instance came first',
  NotSupportedError: 'this kind of instance cannot do that',
  PermanentDriverError: 'its host could not do it',
  RunSupersededError: 'the operation was restarted',
  BatchMemberFailed: 'some of its members could not be made (each member\'s own create operation says how it ended)',
};

export function publicOperationError(o: Pick<OperationRow, 'id' | 'type' | 'state' | 'error' | 'error_type'>): string | undefined {
  if (!o.error) return undefined;
  if (o.state === 'cancelled') return `the ${o.type} was cancelled`;
  const type = o.error_type ?? '';
  if (OWN_WORDS.has(type)) return o.error.split('; undoing ')[0];
  const why = IN_GENERAL[type] ?? 'the platform could not finish it';
  return `the ${o.type} failed: ${why}. An administrator can read the details of operation ${o.id}.`;
}

/** An instance's failure, for its owner: whether it failed, not the host's words. */
export const publicInstanceFailure = (failure: string | null): string | null =>
  failure === null ? null : 'the last operation on it did not finish; its operations (GET /v1/instances/:id/actions) say which';
