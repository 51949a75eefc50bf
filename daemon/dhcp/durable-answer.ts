// What DHCP may promise while the store is away. An ACK is a promise that the address is the
// client's until the lease ends (RFC 2131 §4.3.2), and Rackhand makes it only for what is on disk
// (SPEC §8: no lease lost on kill -9). Without the store nothing new can be written, so a client
// may be answered only with the lease already written for it: the same address, for the time left
// of that lease — never longer, and not at all when too little is left to be worth it (the client
// would be back at once; silence makes it retry, or rebind, later). Pure: the handlers apply it.
import type { LeaseRecord } from '../core/store/types.js';

/** Seconds of a durable lease below which it is not handed out again during an outage. */
export const DURABLE_FLOOR_S = 60;

export type DurableAnswer =
  | { answer: true; seconds: number }
  | { answer: false; why: string };

/**
 * Whether `mac` may be told it holds `ip` now, on the strength of `durable` (its lease as last
 * written to the store) alone; and for how many whole seconds (rounded down, so never a second more
 * than written).
 */
export function answerFromDurable(durable: LeaseRecord | undefined, mac: string, ip: string, now: number,
  floorS = DURABLE_FLOOR_S): DurableAnswer {
  if (!durable || durable.mac !== mac) return { answer: false, why: `no lease of ${mac} is durable: a new lease needs the store` };
  if (durable.state !== 'bound') return { answer: false, why: `the durable lease of ${mac} is ${durable.state}` };
  if (durable.ip !== ip) return { answer: false, why: `the durable lease of ${mac} is for ${durable.ip}, not ${ip}` };
  const seconds = Math.floor((durable.expiresAt - now) / 1000);
  if (seconds < floorS) {
    return { answer: false, why: `the durable lease of ${mac} has ${Math.max(seconds, 0)} s left, under the ${floorS} s floor` };
  }
  return { answer: true, seconds };
}
