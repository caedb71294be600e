import http from 'node:http';
import pg from 'pg';

// The API benchmark's floor: the same rows read with one plain `pg` query each and sent as JSON by
// node:http, with no framework, authentication, validation or view. What the platform's GETs cost
// above this is what vcloud itself adds.
const port = Number(process.argv[2]);
const pool = new pg.Pool({ connectionString: process.env.VCLOUD_DATABASE_URL, max: 10 });
const UUID = /^[0-9a-f-]{36}$/;

const server = http.createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://raw');
  const send = (status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  const one = /^\/instances\/([^/]+)$/.exec(url.pathname);
  if (one && UUID.test(one[1])) {
    pool.query('select * from instances where id = $1', [one[1]])
      .then((r) => (r.rows[0] ? send(200, r.rows[0]) : send(404, {})), () => send(500, {}));
    return;
  }
  if (url.pathname === '/instances') {
    const after = url.searchParams.get('after');
    const [at, id] = after ? JSON.parse(Buffer.from(after, 'base64url').toString()) : [null, null];
    const sql = `select *, created_at::text as _k0 from instances where state <> 'deleted'
      ${at ? 'and (created_at, id) < ($2::timestamptz, $3::uuid)' : ''} order by created_at desc, id desc limit $1`;
    pool.query(sql, at ? [101, at, id] : [101]).then((r) => {
      const items = r.rows.slice(0, 100);
      const last = items[items.length - 1];
      send(200, { items, next: r.rows.length > 100 ? Buffer.from(JSON.stringify([last._k0, last.id])).toString('base64url') : null });
    }, () => send(500, {}));
    return;
  }
  send(404, {});
});
server.listen(port, '127.0.0.1', () => process.send?.('listening'));
process.on('SIGTERM', () => server.close(() => pool.end().then(() => process.exit(0))));
