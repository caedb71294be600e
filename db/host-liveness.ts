import type { Knex } from 'knex';

/**
 * A host is live when its agent heartbeated within `seconds`: one rule for every reader
 * (placement, the health check, conversions, evacuation). `column` names it under an alias.
 */
export const liveSince = (seconds: number, column = 'last_heartbeat_at') => (q: Knex.QueryBuilder) =>
  q.whereRaw(`${column} >= now() - make_interval(secs => ?)`, [seconds]);
