/**
 * Each host's agent serves its own task queue; workflows address a host through it. Pure, so
 * that both the agent and the (sandboxed) workflow code share the one rule.
 */
export const hostQueue = (hostId: string): string => `host-${hostId}`;

/**
 * A second queue per host, served by its own worker slots, that answers only a probe: ordinary
 * work cannot starve it, so a host whose work queue is saturated still answers here (busy, not dead).
 */
export const hostProbeQueue = (hostId: string): string => `host-${hostId}-probe`;
