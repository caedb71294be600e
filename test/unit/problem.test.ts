import type { AddressInfo } from 'node:net';
import express from 'express';
import { errorHandler } from '../../api/problem';

// A database that takes no more connections, or is restarting, is the platform's trouble, not a bug
// and not the caller's: 503 with Retry-After, which clients retry; anything unknown stays a 500.
describe('the API error handler', () => {
  const log = { warn: jest.fn(), error: jest.fn() };
  const thrown: Record<string, unknown> = {
    'too-many': Object.assign(new Error('remaining connection slots are reserved'), { code: '53300' }),
    'starting-up': Object.assign(new Error('the database system is starting up'), { code: '57P03' }),
    refused: Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }),
    'pool-timeout': Object.assign(new Error('Knex: Timeout acquiring a connection'), { name: 'KnexTimeoutError' }),
    bug: new TypeError('x is undefined'),
    'unique-violation': Object.assign(new Error('duplicate key'), { code: '23505' }),
  };
  let base = '';
  let close: () => void = () => undefined;
  beforeAll(async () => {
    const app = express();
    app.get('/:what', (req) => { throw thrown[req.params.what]; });
    app.use(errorHandler(log as never));
    const server = app.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    close = () => server.close();
  });
  afterAll(() => close());

  test.each(['too-many', 'starting-up', 'refused', 'pool-timeout'])('%s: 503 with Retry-After, as problem+json', async (what) => {
    const res = await fetch(`${base}/${what}`);
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('1');
    expect(res.headers.get('content-type')).toMatch(/application\/problem\+json/);
    expect(await res.json()).toMatchObject({ status: 503, detail: 'the database is unavailable; try again' });
  });
  test.each(['bug', 'unique-violation'])('%s: 500, logged as an error', async (what) => {
    log.error.mockClear();
    expect((await fetch(`${base}/${what}`)).status).toBe(500);
    expect(log.error).toHaveBeenCalled();
  });
});
