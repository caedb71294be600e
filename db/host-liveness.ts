import type { Knex } from 'knex';
import type { Db } from './connection';

/** A host is live when its agent heartbeated within `seconds`: one rule for every reader. */
export const liveSince = (db: Db, seconds: number) => (q: Knex.QueryBuilder) =>
  q.whereRaw('last_heartbeat_at >= now() - make_interval(secs => ?)', [seconds]);
