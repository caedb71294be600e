// Errors that cross layers. The API maps them to problem+json statuses; activities mark the
// ones that retrying cannot fix as non-retryable.
export class AppError extends Error {
  constructor(
    readonly status: number,
    readonly title: string,
    message: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = new.target.name;
  }
}
export class NotFoundError extends AppError {
  constructor(message: string) { super(404, 'Not Found', message); }
}
export class ConflictError extends AppError {
  constructor(message: string, extra: Record<string, unknown> = {}) { super(409, 'Conflict', message, extra); }
}
export class CapacityError extends AppError {
  constructor(message: string, extra: Record<string, unknown> = {}) { super(422, 'Unprocessable Entity', message, extra); }
}
export class ValidationError extends AppError {
  constructor(message: string, readonly errors: { path: string; message: string }[] = []) {
    super(400, 'Bad Request', message, { errors });
  }
}
/** A driver verb the driver cannot do (a container cannot pause its kernel, say). */
export class NotSupportedError extends Error {
  constructor(readonly driver: string, readonly verb: string) {
    super(`${driver} driver does not support ${verb}`);
    this.name = 'NotSupportedError';
  }
}

const PG_UNIQUE_VIOLATION = '23505';
export function isUniqueViolation(err: unknown, constraint?: string): boolean {
  const e = err as { code?: string; constraint?: string };
  return e?.code === PG_UNIQUE_VIOLATION && (constraint === undefined || e.constraint === constraint);
}
