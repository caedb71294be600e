import type { ErrorRequestHandler, Response } from 'express';
import type { z, ZodError, ZodTypeAny } from 'zod';
import { AppError, ValidationError } from '../lib/errors';
import type { Logger } from '../lib/logger';
import { isDatabaseUnavailable } from '../db/connection';

export interface FieldError { path: string; message: string }

export function sendProblem(res: Response, status: number, title: string, detail: string, extra: Record<string, unknown> = {}): void {
  res.status(status).type('application/problem+json').send(JSON.stringify({
    type: `https://vcloud.invalid/problems/${status}`, title, status, detail, ...extra,
  }));
}

/** An operation's answer, first-hand or replayed for an Idempotency-Key (a stored 503 stays a problem). */
export function reply(res: Response, answer: { status: number; body: unknown }): void {
  if (answer.status >= 400) res.status(answer.status).type('application/problem+json').send(JSON.stringify(answer.body));
  else res.status(answer.status).json(answer.body);
}

/** Every field zod rejected, unknown keys included, as `{path, message}`. */
export function fieldErrors(error: ZodError): FieldError[] {
  return error.issues.flatMap((issue) => {
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => ({ path: [...issue.path, key].join('.'), message: 'unknown field' }));
    }
    return [{ path: issue.path.join('.') || '(body)', message: issue.message }];
  });
}

export function validationError(error: ZodError): ValidationError {
  const errors = fieldErrors(error);
  return new ValidationError(`invalid request: ${errors.map((e) => e.path).join(', ')}`, errors);
}

/** The value as the schema reads it, or a 400 naming each bad field. */
export function parse<T extends ZodTypeAny>(schema: T, value: unknown): z.infer<T> {
  const result = schema.safeParse(value);
  if (!result.success) throw validationError(result.error);
  return result.data;
}

export function errorHandler(log: Logger): ErrorRequestHandler {
  return (err, req, res, _next) => {
    if (err instanceof AppError) {
      // An answer may say more to admins than to users (host counts, say): `publicDetail` and the
      // `adminOnly` fields are what a user does not read.
      const { publicDetail, adminOnly, ...extra } = err.extra as { publicDetail?: string; adminOnly?: string[] } & Record<string, unknown>;
      if (req.user?.role === 'admin' || publicDetail === undefined) return sendProblem(res, err.status, err.title, err.message, extra);
      for (const key of adminOnly ?? []) delete extra[key];
      return sendProblem(res, err.status, err.title, publicDetail, extra);
    }
    const e = err as { type?: string; status?: number; message?: string };
    if (e?.type === 'entity.parse.failed') return sendProblem(res, 400, 'Bad Request', 'the body is not valid JSON');
    if (e?.type === 'entity.too.large') return sendProblem(res, 413, 'Payload Too Large', 'the body is too large');
    if (typeof e?.status === 'number' && e.status >= 400 && e.status < 500) {
      return sendProblem(res, e.status, 'Bad Request', e.message ?? 'bad request');
    }
    if (isDatabaseUnavailable(err)) {
      log.warn({ err: String(err) }, 'the database is unavailable');
      res.setHeader('retry-after', '1');
      return sendProblem(res, 503, 'Service Unavailable', 'the database is unavailable; try again');
    }
    log.error({ err }, 'unhandled error');
    return sendProblem(res, 500, 'Internal Server Error', 'an unexpected error occurred; it has been logged');
  };
}
