import { GraphQLError, Kind } from 'graphql';
import { builder } from '../builder.js';

builder.scalarType('DateTime', {
  description: 'An ISO-8601 date-time with time zone, e.g. 2026-12-01T08:00:00Z',
  serialize: (d) => (d as Date).toISOString(),
  parseValue: (v) => parseDate(v),
  parseLiteral: (ast) => parseDate(ast.kind === Kind.STRING ? ast.value : null),
});

function parseDate(v: unknown): Date {
  const d = typeof v === 'string' && /^\d{4}-\d{2}-\d{2}(T[\d:.]+(Z|[+-]\d{2}:?\d{2}))?$/.test(v) ? new Date(v) : null;
  if (!d || Number.isNaN(d.getTime())) throw new GraphQLError('DateTime must be an ISO-8601 date-time, e.g. 2026-12-01T08:00:00Z');
  return d;
}

builder.scalarType('JSON', {
  serialize: (v) => v,
  parseValue: (v) => v,
});

export const SortDirection = builder.enumType('SortDirection', { values: ['ASC', 'DESC'] as const });
