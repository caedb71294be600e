import { Router, type Request } from 'express';
import { asyncRoute } from '../async-route';
import { currentUser } from '../auth';
import { parse, validationError } from '../problem';
import { pageQuery, sshKeyBody, uuidParam } from '../schemas';
import type { Deps } from '../start-operation';
import { getUser, type User } from '../../db/users';
import { deleteSshKey, insertSshKey, listSshKeys, sshKeyView } from '../../db/ssh-keys';
import { NotFoundError, ValidationError } from '../../lib/errors';
import { parsePublicKey } from '../../lib/ssh-key';

// A user's SSH public keys: their own (`/v1/users/me/keys` or their id), or anyone's for an admin.
export function keyRoutes({ db }: Deps): Router {
  const router = Router();

  /** Another user's keys are a 404 to a user: their existence is not theirs to learn. */
  async function owner(req: Request): Promise<User> {
    const me = currentUser(req);
    const id = req.params.id === 'me' ? me.id : req.params.id;
    const user = uuidParam.safeParse(id).success && (me.role === 'admin' || id === me.id) ? await getUser(db, id) : undefined;
    if (!user) throw new NotFoundError(`user ${req.params.id} not found`);
    return user;
  }

  router.get('/v1/users/:id/keys', asyncRoute(async (req, res) => {
    const user = await owner(req);
    res.json(await listSshKeys(db, user.id, parse(pageQuery, req.query), sshKeyView));
  }));

  router.post('/v1/users/:id/keys', asyncRoute(async (req, res) => {
    const user = await owner(req);
    const body = sshKeyBody.safeParse(req.body ?? {});
    if (!body.success) throw validationError(body.error);
    const parsed = parsePublicKey(body.data.publicKey);
    if ('error' in parsed) throw new ValidationError(`publicKey ${parsed.error}`, [{ path: 'publicKey', message: parsed.error }]);
    const row = await insertSshKey(db, { user_id: user.id, name: body.data.name, type: parsed.type, public_key: parsed.publicKey, fingerprint: parsed.fingerprint });
    res.status(201).json(sshKeyView(row));
  }));

  router.delete('/v1/users/:id/keys/:keyId', asyncRoute(async (req, res) => {
    const user = await owner(req);
    if (!uuidParam.safeParse(req.params.keyId).success || !(await deleteSshKey(db, user.id, req.params.keyId))) {
      throw new NotFoundError(`key ${req.params.keyId} not found`);
    }
    res.status(204).end();
  }));

  return router;
}
