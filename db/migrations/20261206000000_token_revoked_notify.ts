import type { Knex } from 'knex';

// Every revocation, however made (the API, or an operator's SQL), is announced to the API processes,
// which keep the tokens they checked for a while (api/token-cache.ts, db/token-revocations.ts). The
// notification goes out when the revoking transaction commits.
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    create function notify_token_revoked() returns trigger language plpgsql as $$
    begin
      perform pg_notify('vcloud_token_revoked', old.token_hash);
      return null;
    end $$;
    create trigger api_tokens_revoked after update of revoked_at, token_hash, user_id or delete on api_tokens
      for each row execute function notify_token_revoked();
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    drop trigger if exists api_tokens_revoked on api_tokens;
    drop function if exists notify_token_revoked();
  `);
}
