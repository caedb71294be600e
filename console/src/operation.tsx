import { useEffect, useState } from 'react';
import { describe, ok, type Operation, type VcloudClient } from './api';
import { Problem, State } from './widgets';
import { progressOf } from '../../client/progress';

/** Follows an operation to its end: its state, its step (or a bar for one with a count), its error, its workflow in the Temporal UI. */
export function OperationView({ api, first, onEnd }: { api: VcloudClient; first: Operation; onEnd?: (op: Operation) => void }) {
  const [op, setOp] = useState(first);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    let live = true;
    let current = first;
    const poll = async () => {
      while (live && current.state === 'running') {
        await new Promise((r) => setTimeout(r, 1000));
        try {
          current = ok(await api.GET('/v1/operations/{id}', { params: { path: { id: first.id } } }));
          if (live) setOp(current);
        } catch (e) {
          if (live) setError(describe(e));
        }
      }
      if (live && current.state !== 'running') onEnd?.(current);
    };
    void poll();
    return () => { live = false; };
    // Followed once per operation.
  }, [api, first.id]);
  const { step, plan, count } = progressOf(op);
  return (
    <div className="card operation" data-operation={op.id}>
      <strong>{op.type}</strong> <State state={op.state} />
      {step && <span className="muted"> step: {step}</span>}
      {plan && <span className="muted"> plan: {plan}</span>}
      {count && (
        <div>
          <div className="bar"><div style={{ width: `${count.total ? (100 * count.done) / count.total : 100}%` }} /></div>
          <span className="muted">{count.done}/{count.total}</span>
        </div>
      )}
      {op.error && <div className="problem">{op.error}</div>}
      <div><a href={op.temporalUiUrl} target="_blank" rel="noreferrer">workflow {op.workflowId} in the Temporal UI</a></div>
      <Problem error={error} />
    </div>
  );
}
