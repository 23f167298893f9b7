// The one hierarchy of expected failures. The API maps each class to a GraphQL error type (errors
// plugin); anything else is unexpected and masked. Messages are written for the person in front of
// the panel and never contain secrets.

export interface FieldError {
  field: string;
  message: string;
  code: string;
}

export class AppError extends Error {
  override name = 'AppError';
}

export class ValidationError extends AppError {
  override name = 'ValidationError';
  constructor(readonly fieldErrors: FieldError[]) {
    super(fieldErrors.map((e) => `${e.field}: ${e.message}`).join('; ') || 'Invalid input');
  }
  static of(field: string, code: string, message: string): ValidationError {
    return new ValidationError([{ field, code, message }]);
  }
}

export class NotFoundError extends AppError {
  override name = 'NotFoundError';
  constructor(readonly entity: string) {
    super(`${entity} not found`);
  }
}

export class LimitExceededError extends AppError {
  override name = 'LimitExceededError';
  constructor(
    readonly limit: string,
    readonly max: number,
    message: string,
    readonly field: string | null = null,
  ) {
    super(message);
  }
}

export class AuthenticationError extends AppError {
  override name = 'AuthenticationError';
}

export class TooManyAttemptsError extends AppError {
  override name = 'TooManyAttemptsError';
  constructor(readonly retryAfterSeconds: number) {
    super(`Too many failed attempts. Try again in ${retryAfterSeconds} seconds.`);
  }
}

/** Collects field errors so a form shows every problem at once, then throws them together. */
export class FieldErrors {
  readonly errors: FieldError[] = [];
  add(field: string, code: string, message: string): this {
    this.errors.push({ field, code, message });
    return this;
  }
  has(field: string): boolean {
    return this.errors.some((e) => e.field === field);
  }
  throwIfAny(): void {
    if (this.errors.length > 0) throw new ValidationError(this.errors);
  }
}
