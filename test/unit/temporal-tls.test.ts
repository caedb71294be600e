import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { temporalTls } from '../../lib/temporal-tls';

describe('Temporal client certificates through configuration', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vcloud-tls-'));
  const file = (name: string, text: string) => { const f = path.join(dir, name); fs.writeFileSync(f, text); return f; };
  const crt = file('agent.crt', '-----BEGIN CERTIFICATE-----\nagent\n-----END CERTIFICATE-----\n');
  const key = file('agent.key', '-----BEGIN PRIVATE KEY-----\nkey\n-----END PRIVATE KEY-----\n');
  const ca = file('ca.crt', '-----BEGIN CERTIFICATE-----\nca\n-----END CERTIFICATE-----\n');
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('none configured: plain gRPC (the dev server on loopback)', () => {
    expect(temporalTls({})).toBeUndefined();
  });

  test('a certificate, its key, the CA and a server name: the files\' bytes, as the SDK takes them', () => {
    expect(temporalTls({ temporalTlsCert: crt, temporalTlsKey: key, temporalTlsCa: ca, temporalTlsServerName: 'temporal.internal' })).toEqual({
      clientCertPair: { crt: fs.readFileSync(crt), key: fs.readFileSync(key) },
      serverRootCACertificate: fs.readFileSync(ca),
      serverNameOverride: 'temporal.internal',
    });
    expect(temporalTls({ temporalTlsCa: ca })).toEqual({ serverRootCACertificate: fs.readFileSync(ca) });
  });

  test('half a pair, or a file that cannot be read, stops the process with a clear reason', () => {
    expect(() => temporalTls({ temporalTlsCert: crt })).toThrow(/go together/);
    expect(() => temporalTls({ temporalTlsCert: crt, temporalTlsKey: path.join(dir, 'missing.key') })).toThrow(/client key .*missing\.key cannot be read/);
  });
});
