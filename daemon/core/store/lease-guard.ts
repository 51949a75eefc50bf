// The one rule both stores apply when a lease is written for an address another MAC holds: the
// address moves only if that holder's lease is over (released, or expired by the time of this
// write). A live holder wins: its lease was written by another daemon (another rack's, or a
// secondary answering the same segment a moment too long), whose client believes it is bound.
import type { LeaseRecord } from './records.js';

export function holderKeeps(holder: LeaseRecord, incoming: LeaseRecord): boolean {
  return holder.mac !== incoming.mac && holder.state === 'bound' && holder.expiresAt > incoming.updatedAt;
}
