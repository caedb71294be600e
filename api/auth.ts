import type { NextFunction, Request, Response } from 'express';
import type { Knex } from 'knex';
import { hashToken, userForTokenHash, type User } from '../db/users';
import type { TokenCache } from './token-cache';
import { AppError } from '../lib/errors';
import { sendProblem } from './problem';

declare module 'express-serve-static-core' {
  interface Request { user?: User }
}

export function authenticate(db: Knex, tokens?: TokenCache) {
  return async (req: Request, res: Response, next: NextFunction) => {
    const header = req.header('authorization') ?? '';
    const match = /^Bearer ([A-Za-z0-9_-]{10,200})$/.exec(header);
    if (!match) return sendProblem(res, 401, 'Unauthorized', 'a bearer token is required');
    try {
      const hash = hashToken(match[1]);
      const user = tokens ? await tokens.user(hash, () => userForTokenHash(db, hash)) : await userForTokenHash(db, hash);
      if (!user) return sendProblem(res, 401, 'Unauthorized', 'the token is unknown or revoked');
      req.user = user;
      next();
    } catch (err) {
      next(err);
    }
  };
}

export const currentUser = (req: Request): User => {
  if (!req.user) throw new AppError(401, 'Unauthorized', 'a bearer token is required');
  return req.user;
};

export function requireAdmin(req: Request): User {
  const user = currentUser(req);
  if (user.role !== 'admin') throw new AppError(403, 'Forbidden', 'only an admin may do this');
  return user;
}
