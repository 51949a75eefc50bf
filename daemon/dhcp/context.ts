// What a mode's handle() receives and returns. The listener builds an Inbound from each datagram it
// could decode; the handler answers with packets to send, or says why it does not answer.
import type { DhcpBackend } from './backend.js';
import type { ClientFacts } from './bootfile.js';
import type { EnrolGate } from './enrol-gate.js';
import type { DropReason } from './errors.js';
import type { LeaseTable } from './leases.js';
import type { DhcpMetrics } from './metrics.js';
import type { Packet } from './packet.js';
import type { BootFactsRecorder, LeaseWriter } from './persist.js';
import type { DhcpSettings } from './settings.js';

export interface HandlerContext {
  settings: DhcpSettings;
  backend: DhcpBackend;
  leases: LeaseTable;
  writer: LeaseWriter;
  bootFacts: BootFactsRecorder;
  metrics: DhcpMetrics;
  now(): number;
  /** Present when discovery is on: the limits every enrolment passes. */
  enrolGate?: EnrolGate;
}

export interface Inbound {
  packet: Packet;
  mac: string;
  /** Option 53. */
  type: number;
  facts: ClientFacts;
  /** The local port it arrived on: 67, or 4011 (PXE boot server discovery). */
  port: number;
  from: { address: string; port: number };
  log: PacketLog;
  /** The store's machine of this MAC, once the mode looked it up: the boot trace is kept for it alone. */
  machine?: string;
}

/** A logger bound to one packet: every line carries its mac, xid and interface. */
export interface PacketLog {
  debug(fields: Record<string, unknown>, msg: string): void;
  info(fields: Record<string, unknown>, msg: string): void;
  warn(fields: Record<string, unknown>, msg: string): void;
  error(fields: Record<string, unknown>, msg: string): void;
}

export interface Outbound {
  packet: Packet;
  address: string;
  port: number;
  /** Largest message the receiver takes (its option 57). */
  maxSize: number;
  /** Sent from the socket bound to this local port. */
  via: number;
}

export type HandleResult =
  | { replies: Outbound[] }
  | { drop: DropReason; detail: string };

export const drop = (reason: DropReason, detail: string): HandleResult => ({ drop: reason, detail });
