import type { ReactNode } from 'react';
import { usePager } from './hooks';

export const Problem = ({ error }: { error: string | null }) => (error ? <div className="problem" role="alert">{error}</div> : null);

export function Pager({ pager, next }: { pager: ReturnType<typeof usePager>; next: string | null | undefined }) {
  return (
    <p>
      <button disabled={pager.page === 1} onClick={pager.back}>Previous</button>{' '}
      <span className="muted">page {pager.page}</span>{' '}
      <button disabled={!next} onClick={() => pager.next(next ?? null)}>Next</button>
    </p>
  );
}

export function Table<T>({ rows, columns, empty, rowClass }: {
  rows: T[]; columns: [string, (r: T) => ReactNode][]; empty: string; rowClass?: (r: T) => string;
}) {
  if (rows.length === 0) return <p className="muted">{empty}</p>;
  return (
    <table>
      <thead><tr>{columns.map(([h]) => <th key={h}>{h}</th>)}</tr></thead>
      <tbody>
        {rows.map((r, i) => <tr key={i} className={rowClass?.(r)}>{columns.map(([h, cell]) => <td key={h}>{cell(r)}</td>)}</tr>)}
      </tbody>
    </table>
  );
}

export const State = ({ state }: { state: string }) => <span className={`state-${state}`} data-state={state}>{state}</span>;
export const dash = (v: unknown) => (v === null || v === undefined || v === '' ? '-' : String(v));
export const ago = (t: string | null) => (t ? `${Math.max(0, Math.round((Date.now() - new Date(t).getTime()) / 1000))} s ago` : 'never');
