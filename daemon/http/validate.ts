// Request validation: every zod issue is listed, each naming its field (`body.profile`,
// `query.limit`) with zod's message, so a client fixes all of them in one round. The message
// and `field` lead with the first; `issues` holds them all (bounded: a body of a thousand bad
// fields does not make a thousand-line answer).
import type { z } from 'zod';
import { ApiError } from './errors.js';

const MAX_ISSUES = 20;

export function parseInput<S extends z.ZodType>(schema: S, value: unknown, where: 'body' | 'query'): z.output<S> {
  const result = schema.safeParse(value ?? {});
  if (result.success) return result.data;
  const issues = result.error.issues.slice(0, MAX_ISSUES).flatMap((issue) => {
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((k) => ({ field: [where, ...issue.path.map(String), k].join('.'), message: 'unknown field' }));
    }
    return [{ field: [where, ...issue.path.map(String)].join('.'), message: issue.message }];
  }).slice(0, MAX_ISSUES);
  const first = issues[0]!;
  const message = issues.map((i) => `${i.field}: ${i.message}`).join('; ');
  throw new ApiError('BAD_REQUEST', message, { field: first.field, issues });
}
