import { Client } from 'pg';

/** The channel the trigger of migration 20261206000000_token_revoked_notify announces revoked tokens' hashes on. */
const CHANNEL = 'vcloud_token_revoked';

export interface RevocationListener {
  /** A token was revoked (or deleted): its hash. */
  revoked(hash: string): void;
  /** LISTEN is in place (true), or the connection was lost and revocations may go unheard (false). */
  listening(yes: boolean): void;
}

/**
 * Listens for revoked tokens on a connection of its own (a pooled one could not keep LISTEN). When
 * the connection is lost it says so at once and connects again every `retryMs` until it can listen.
 * Returns the function that stops it.
 */
export function listenForRevocations(databaseUrl: string, on: RevocationListener, retryMs = 1000): () => Promise<void> {
  let stopped = false;
  let client: Client | null = null;
  let timer: NodeJS.Timeout | null = null;
  // Only the current connection's loss counts: a late event of an earlier one changes nothing.
  const lost = (c: Client) => {
    if (client !== c) return;
    client = null;
    on.listening(false);
    c.end().catch(() => undefined);
    if (!stopped) timer = setTimeout(connect, retryMs);
  };
  const connect = () => {
    timer = null;
    const c = new Client({ connectionString: databaseUrl, application_name: 'vcloud-token-revocations' });
    client = c;
    c.on('notification', (n) => { if (n.channel === CHANNEL && n.payload) on.revoked(n.payload); });
    c.on('error', () => lost(c));
    c.on('end', () => lost(c));
    c.connect()
      .then(() => c.query(`listen ${CHANNEL}`))
      .then(() => { if (client === c && !stopped) on.listening(true); }, () => lost(c));
  };
  connect();
  return async () => {
    stopped = true;
    if (timer) clearTimeout(timer);
    const c = client;
    client = null;
    on.listening(false);
    await c?.end().catch(() => undefined);
  };
}
