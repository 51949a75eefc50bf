// Request validation: the first zod issue becomes a 400 that names the field, as
// `body.profile` or `query.limit`, with zod's message.
import type { z } from 'zod';
import { ApiError } from './errors.js';

export function parseInput<S extends z.ZodType>(schema: S, value: unknown, where: 'body' | 'query'): z.output<S> {
  const result = schema.safeParse(value ?? {});
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const path = issue.path.map(String);
  const field = [where, ...path].join('.');
  const message = issue.code === 'unrecognized_keys'
    ? `unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.join(', ')}`
    : issue.message;
  const named = issue.code === 'unrecognized_keys' ? `${where}.${issue.keys[0]}` : field;
  throw new ApiError('BAD_REQUEST', `${named}: ${message}`, { field: named });
}
