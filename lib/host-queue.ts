/**
 * Each host's agent serves its own task queue; workflows address a host through it. Pure, so
 * that both the agent and the (sandboxed) workflow code share the one rule.
 */
export const hostQueue = (hostId: string): string => `host-${hostId}`;
