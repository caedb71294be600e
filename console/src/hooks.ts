import { useCallback, useEffect, useState } from 'react';
import { describe } from './api';

/** The hash route, split at slashes: `#/instances/<id>` is ['instances', '<id>']. */
export function useRoute(): string[] {
  const read = () => window.location.hash.replace(/^#\/?/, '').split('/').filter(Boolean);
  const [route, setRoute] = useState(read);
  useEffect(() => {
    const on = () => setRoute(read());
    window.addEventListener('hashchange', on);
    return () => window.removeEventListener('hashchange', on);
  }, []);
  return route;
}

/** Loads, and reloads every `everyMs` (0: once) and when `deps` change; the error is the API's problem. */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[], everyMs = 0) {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [tick, setTick] = useState(0);
  const run = useCallback(load, deps);
  useEffect(() => {
    let live = true;
    run().then((d) => { if (live) { setData(d); setError(null); } }, (e) => { if (live) setError(describe(e)); });
    const timer = everyMs > 0 ? setInterval(() => setTick((t) => t + 1), everyMs) : null;
    return () => { live = false; if (timer) clearInterval(timer); };
  }, [run, tick, everyMs]);
  return { data, error, reload: () => setTick((t) => t + 1) };
}

/** One page at a time: the cursors of the pages before, so Back works without offsets. */
export function usePager() {
  const [cursors, setCursors] = useState<(string | undefined)[]>([undefined]);
  return {
    cursor: cursors[cursors.length - 1],
    page: cursors.length,
    next: (c: string | null) => { if (c) setCursors([...cursors, c]); },
    back: () => setCursors(cursors.length > 1 ? cursors.slice(0, -1) : cursors),
    first: () => setCursors([undefined]),
  };
}
