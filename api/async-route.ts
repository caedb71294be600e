import type { NextFunction, Request, RequestHandler, Response } from 'express';

/** Express 4 does not pass rejected promises to the error handler by itself. */
export const asyncRoute = (fn: (req: Request, res: Response) => Promise<unknown>): RequestHandler =>
  (req: Request, res: Response, next: NextFunction) => { fn(req, res).catch(next); };
