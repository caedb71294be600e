import { ApplicationFailure } from '@temporalio/common';
import { AppError } from '../lib/errors';
import { PermanentDriverError } from '../drivers/instance-driver';

/**
 * Errors that no retry can fix become non-retryable failures carrying a clear message;
 * everything else is left to Temporal's retry policy.
 */
export async function permanentOnKnown<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof AppError) throw ApplicationFailure.nonRetryable(err.message, err.name, { status: err.status, ...err.extra });
    if (err instanceof PermanentDriverError) throw ApplicationFailure.nonRetryable(err.message, err.name);
    throw err;
  }
}
