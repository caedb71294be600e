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
/** A compare-and-set state change that found the row in another state: a newer step has moved on. */
export class StateConflictError extends ConflictError {}

/**
 * The operation row belongs to another run of its workflow (a reset started a new run), or is no
 * longer running: the step must not act on what it read before. The workflow starts its body over.
 */
export class RunSupersededError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RunSupersededError';
  }
}

/**
 * Failure types that no retry can fix: activities throw them (the SDK names a failure after the
 * error's class) and every retry policy lists them in `nonRetryableErrorTypes`, so a business
 * failure ends its step at once while an infrastructure failure retries with backoff.
 */
export const BUSINESS_ERROR_TYPES = [
  'AppError', 'NotFoundError', 'ConflictError', 'CapacityError', 'ValidationError', 'StateConflictError',
  'RunSupersededError', 'PermanentDriverError', 'NotSupportedError',
];

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
