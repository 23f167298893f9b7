import {
  AppError,
  AuthenticationError,
  LimitExceededError,
  NotFoundError,
  TooManyAttemptsError,
  ValidationError,
  type FieldError as FieldErrorShape,
} from '@mailpanel/core/errors';
import { builder } from '../builder.js';

export const ErrorInterface = builder.interfaceRef<AppError>('Error').implement({
  description: 'Every expected failure implements this; clients can always select `message`.',
  fields: (t) => ({ message: t.exposeString('message') }),
});

export const FieldErrorRef = builder.objectRef<FieldErrorShape>('FieldError').implement({
  description: 'A problem with one input field. `field` is the argument or input field name.',
  fields: (t) => ({
    field: t.exposeString('field'),
    code: t.exposeString('code'),
    message: t.exposeString('message'),
  }),
});

builder.objectType(ValidationError, {
  name: 'ValidationError',
  interfaces: [ErrorInterface],
  isTypeOf: (e) => e instanceof ValidationError,
  fields: (t) => ({ fieldErrors: t.field({ type: [FieldErrorRef], resolve: (e) => e.fieldErrors }) }),
});

builder.objectType(NotFoundError, {
  name: 'NotFoundError',
  interfaces: [ErrorInterface],
  isTypeOf: (e) => e instanceof NotFoundError,
  fields: (t) => ({ entity: t.exposeString('entity') }),
});

builder.objectType(LimitExceededError, {
  name: 'LimitExceededError',
  description: 'A hosting-package limit would be exceeded.',
  interfaces: [ErrorInterface],
  isTypeOf: (e) => e instanceof LimitExceededError,
  fields: (t) => ({
    limit: t.exposeString('limit'),
    max: t.exposeInt('max'),
    field: t.exposeString('field', { nullable: true }),
  }),
});

builder.objectType(AuthenticationError, {
  name: 'AuthenticationError',
  interfaces: [ErrorInterface],
  isTypeOf: (e) => e instanceof AuthenticationError,
});

builder.objectType(TooManyAttemptsError, {
  name: 'TooManyAttemptsError',
  interfaces: [ErrorInterface],
  isTypeOf: (e) => e instanceof TooManyAttemptsError,
  fields: (t) => ({ retryAfterSeconds: t.exposeInt('retryAfterSeconds') }),
});

/** The error types every domain mutation can answer with. */
export const MUTATION_ERRORS = [ValidationError, NotFoundError, LimitExceededError];
