import { useEffect, useMemo, useState } from 'react';
import { clientFor, describe, ok, saveToken, savedToken, type Me } from './api';
import { useRoute } from './hooks';
import { Problem } from './widgets';
import { InstancesPage } from './instances';
import { CreatePage } from './create';
import { InstancePage } from './instance';
import { UsersPage } from './admin-users';
import { ZonesPage } from './admin-zones';
import { HostsPage } from './admin-hosts';

/** Log in with a token; who it is (and their grants) comes from GET /v1/me. */
function Login({ onLogin }: { onLogin: (token: string, me: Me) => void }) {
  const [token, setToken] = useState('');
  const [error, setError] = useState<string | null>(null);
  const submit = async (e: React.FormEvent) => {
    e.preventDefault();
    try {
      onLogin(token.trim(), ok(await clientFor(token.trim()).GET('/v1/me')));
    } catch (err) {
      setError(describe(err));
    }
  };
  return (
    <main>
      <h1>vcloud</h1>
      <form className="inline" onSubmit={submit}>
        <label>API token<input name="token" type="password" value={token} onChange={(e) => setToken(e.target.value)} size={50} autoFocus /></label>
        <button type="submit">Log in</button>
      </form>
      <Problem error={error} />
    </main>
  );
}

export function App() {
  const [token, setToken] = useState(savedToken());
  const [me, setMe] = useState<Me | null>(null);
  const [error, setError] = useState<string | null>(null);
  const route = useRoute();
  const api = useMemo(() => (token ? clientFor(token) : null), [token]);
  useEffect(() => {
    if (!api || me) return;
    api.GET('/v1/me').then((r) => setMe(ok(r)), (e) => { setError(describe(e)); saveToken(null); setToken(null); });
  }, [api, me]);
  const refreshMe = () => api?.GET('/v1/me').then((r) => setMe(ok(r)), () => undefined);

  if (!token || !api) {
    return <><Login onLogin={(t, m) => { saveToken(t); setToken(t); setMe(m); }} /><main><Problem error={error} /></main></>;
  }
  if (!me) return <main className="muted">loading...</main>;
  const admin = me.user.role === 'admin';
  const [page = 'instances', arg] = route;
  const link = (to: string, label: string) => <a href={`#/${to}`} className={page === to ? 'active' : ''}>{label}</a>;
  return (
    <>
      <header>
        <strong>vcloud</strong>
        {link('instances', 'Instances')}
        {link('create', 'Create')}
        {admin && link('users', 'Users')}
        {admin && link('zones', 'Zones')}
        {admin && link('hosts', 'Hosts')}
        <a href="/docs/" target="_blank" rel="noreferrer">API</a>
        <span className="who">{me.user.name} ({me.user.role}) <button onClick={() => { saveToken(null); setToken(null); setMe(null); }}>Log out</button></span>
      </header>
      <main>
        {page === 'instances' && !arg && <InstancesPage api={api} admin={admin} />}
        {page === 'instances' && arg && <InstancePage api={api} id={arg} onChange={refreshMe} />}
        {page === 'create' && <CreatePage api={api} me={me} onCreated={refreshMe} />}
        {admin && page === 'users' && <UsersPage api={api} />}
        {admin && page === 'zones' && <ZonesPage api={api} />}
        {admin && page === 'hosts' && <HostsPage api={api} />}
      </main>
    </>
  );
}
