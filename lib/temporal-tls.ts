import fs from 'node:fs';
import type { TLSConfig } from '@temporalio/client';
import type { Config } from './config';

/**
 * mTLS to a Temporal frontend that requires it (a multi-host deployment; see the README): the
 * client certificate and key, and the CA that signed the server's, as PEM files. None set: plain
 * gRPC, for the dev server on loopback.
 */
export function temporalTls(c: Partial<Pick<Config, 'temporalTlsCert' | 'temporalTlsKey' | 'temporalTlsCa' | 'temporalTlsServerName'>>): TLSConfig | undefined {
  if (!c.temporalTlsCert && !c.temporalTlsKey && !c.temporalTlsCa) return undefined;
  if (Boolean(c.temporalTlsCert) !== Boolean(c.temporalTlsKey)) {
    throw new Error('VCLOUD_TEMPORAL_TLS_CERT and VCLOUD_TEMPORAL_TLS_KEY go together');
  }
  const read = (file: string, what: string) => {
    try {
      return fs.readFileSync(file);
    } catch (err) {
      throw new Error(`the Temporal ${what} ${file} cannot be read: ${(err as Error).message}`);
    }
  };
  return {
    ...(c.temporalTlsCert && c.temporalTlsKey ? { clientCertPair: { crt: read(c.temporalTlsCert, 'client certificate'), key: read(c.temporalTlsKey, 'client key') } } : {}),
    ...(c.temporalTlsCa ? { serverRootCACertificate: read(c.temporalTlsCa, 'CA certificate') } : {}),
    ...(c.temporalTlsServerName ? { serverNameOverride: c.temporalTlsServerName } : {}),
  };
}

/** What every connection to Temporal is made with: its address and, when configured, mTLS. */
export const temporalConnectionOptions = (c: Config) => ({ address: c.temporalAddress, tls: temporalTls(c) });
