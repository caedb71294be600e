/**
 * Instance states and the transitions between them, in one place (as Nova's compute/vm_states.py).
 * Pure, so workflow code, activities and the API share it; the database enforces the same table
 * with a trigger (db/instance-transitions.ts), so no code path can move an instance backwards.
 */
export const INSTANCE_STATES = [
  'pending', 'provisioning', 'running', 'stopped', 'paused', 'migrating', 'resizing', 'deleting', 'repairing', 'deleted', 'failed',
] as const;
export type InstanceState = (typeof INSTANCE_STATES)[number];

/**
 * `repairing`: a host copy is being brought in line with the database (a failed undo, a terminated
 * workflow, a drifted engine). The instance keeps its address and capacity until that is done; it
 * then ends in its `repair_to` state.
 */
export const TRANSITIONS: Record<InstanceState, readonly InstanceState[]> = {
  pending: ['provisioning', 'failed', 'repairing'],
  provisioning: ['running', 'failed', 'repairing'],
  running: ['stopped', 'paused', 'migrating', 'resizing', 'deleting', 'repairing'],
  stopped: ['running', 'migrating', 'resizing', 'deleting', 'repairing'],
  paused: ['running', 'stopped', 'deleting', 'repairing'],
  migrating: ['running', 'stopped', 'repairing'],
  // Back to the state it was resized from (a VM's cold resize is off for a while but never `stopped`).
  resizing: ['running', 'stopped', 'repairing'],
  // Back to where it was only when the delete's workflow could not be started at all.
  deleting: ['deleted', 'repairing', 'running', 'stopped', 'paused', 'failed'],
  repairing: ['running', 'stopped', 'paused', 'failed', 'deleted'],
  // A failed instance holds nothing; a reset of its create (the Temporal UI's retry) provisions it again.
  failed: ['deleting', 'provisioning', 'repairing'],
  deleted: [],
};

/** Where a repair may end: a live state on the instance's host, or gone with everything released. */
export const REPAIR_TARGETS = ['running', 'stopped', 'paused', 'failed', 'deleted'] as const;
export type RepairTarget = (typeof REPAIR_TARGETS)[number];

/** States that hold an address, host capacity and quota. */
export const HOLDING_STATES: readonly InstanceState[] = INSTANCE_STATES.filter((s) => s !== 'deleted' && s !== 'failed');

/** States an instance settles in, with its host copy matching: the ones the reconciler compares engines against. */
export const SETTLED_STATES = ['running', 'stopped', 'paused'] as const;
export type SettledState = (typeof SETTLED_STATES)[number];

export const canTransition = (from: InstanceState, to: InstanceState): boolean => from === to || TRANSITIONS[from].includes(to);

/** Every state that may move to `to`. */
export const statesInto = (to: InstanceState): InstanceState[] => INSTANCE_STATES.filter((s) => canTransition(s, to));

/** Which states each user action starts from, and where it ends. */
export const ACTIONS = {
  start: { from: ['stopped'], to: 'running' },
  stop: { from: ['running', 'paused'], to: 'stopped' },
  pause: { from: ['running'], to: 'paused' },
  resume: { from: ['paused'], to: 'running' },
  reboot: { from: ['running'], to: 'running' },
} as const satisfies Record<string, { from: readonly SettledState[]; to: SettledState }>;
export type Action = keyof typeof ACTIONS;

/** A migration moves a running or stopped instance; a snapshot is taken of one. */
export const MOVABLE_STATES: readonly InstanceState[] = ['running', 'stopped'];
/** A resize changes a running or stopped instance. */
export const RESIZABLE_STATES: readonly InstanceState[] = ['running', 'stopped'];
/** A delete is accepted from these; a repairing instance is deleted by its repair instead. */
export const DELETABLE_STATES: readonly InstanceState[] = ['running', 'stopped', 'paused', 'failed'];
