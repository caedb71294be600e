import crypto from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import { recordRawRequest, storedAnswerFor } from '../db/idempotency';
import { reply } from './problem';
import { IDEMPOTENCY_KEY, startReplayed, type Deps } from './start-operation';
import { MUTATING } from './audit-trail';


const rawHash = (req: Request) => crypto.createHash('sha256').update(JSON.stringify([req.method, req.path, req.body ?? null])).digest('hex');

/**
 * A retry under an Idempotency-Key is answered before any validation or lookup: exactly the first
 * request again (same method, path and body) gets the first answer, whatever has changed since (the
 * instance it created may be running, its host drained, the user's quota full). Anything else goes
 * to the route, whose own check refuses the key reused for another request (422).
 */
export function idempotentReplay(deps: Pick<Deps, 'db' | 'starter'>) {
  return (req: Request, res: Response, next: NextFunction) => {
    const key = req.header('idempotency-key');
    if (!key || !IDEMPOTENCY_KEY.test(key) || !MUTATING.has(req.method) || !req.user) return next();
    const user = req.user;
    const hash = rawHash(req);
    storedAnswerFor(deps.db, user.id, key, hash).then(async (answer) => {
      if (!answer) {
        // Once this request's answer is stored (it claimed the key), its retries can be answered here.
        res.on('finish', () => { recordRawRequest(deps.db, user.id, key, hash).catch(() => undefined); });
        return next();
      }
      try {
        await startReplayed(deps, answer);
      } catch {
        // The workflow service cannot be reached: the route's own replay path fails the operation
        // and stores (and answers) that 503.
        return next();
      }
      reply(res, answer);
    }).catch(next);
  };
}
