// Which If-Match values to try on a PATCH, from the resource just read (pure). BMCs disagree:
// some send a weak ETag (W/"…") and accept only its strong form, some send an ETag header that
// differs from the body's @odata.etag and accept only one of them, some accept no If-Match at
// all once they sent a weak one. sushy's connector retries weak → strong → none; so do we,
// starting with the ETag as read, and only after the BMC refused the precondition.
import { header } from './redfish-http.js';

export interface ReadResource { body: Record<string, unknown>; headers: Record<string, string | string[] | undefined> }

/** The ETag to send first: the header's, else the body's @odata.etag. */
export function etagOf(r: ReadResource): string | undefined {
  const h = header(r, 'etag');
  if (h) return h;
  const b = r.body['@odata.etag'];
  return typeof b === 'string' && b ? b : undefined;
}

const strong = (tag: string): string => tag.replace(/^W\//i, '');

/**
 * If-Match values to try, in order, after the first PATCH was refused with 409/412/428; `null`
 * stands for "send no If-Match". A 428 (precondition required) rules the empty one out.
 */
export function ifMatchCandidates(r: ReadResource, refusedWith: number): (string | null)[] {
  const h = header(r, 'etag');
  const b = typeof r.body['@odata.etag'] === 'string' ? (r.body['@odata.etag'] as string) : undefined;
  const tags = [h, b, h && strong(h), b && strong(b)].filter((t): t is string => !!t);
  const out: (string | null)[] = [...new Set(tags)];
  if (refusedWith !== 428) out.push(null);
  return out;
}
