// Why a packet was not decoded or not answered. Each code is a stable metric label
// (rackhand_dhcp_drops_total{reason}) and a log field; the message names the field and numbers.

export const DROP_REASONS = [
  'truncated',          // shorter than the 236-byte BOOTP header + 4-byte magic cookie
  'bad_magic',          // RFC 2131 §3: the options field must start with 99.130.83.99
  'bad_op',             // op is not BOOTREQUEST (a server only takes requests)
  'bad_htype',          // hardware type/length we cannot key a machine on (not Ethernet/6)
  'option_overrun',     // an option's length runs past the end of its field
  'option_size',        // an option's length is wrong for its type (RFC 2132 fixes most sizes)
  'no_end',             // the options field has no END (255) option (RFC 2131 §4.1)
  'bad_overload',       // option 52 names fields that cannot hold options
  'suboption',          // a sub-option block (43, 82, 175) is malformed
  'no_message_type',    // a DHCP packet without option 53 (plain BOOTP is not served)
  'bad_message_type',   // option 53 is not a client message type
  'unknown_relay',      // giaddr is in no subnet we serve
  'not_for_us',         // REQUEST naming another server identifier (RFC 2131 §4.3.2)
  'unmanaged',          // MAC not in the inventory and discovery is off
  'discovery_rate',     // an unknown PXE client over site.discovery.per_minute: not enrolled
  'discovery_cap',      // an unknown PXE client while site.discovery.max_pending await acceptance
  'discovered_share',   // a machine outside the inventory, its share of the pool in use
  'no_boot',            // no loader for this client arch
  'no_address',         // no reservation and no pool (or pool exhausted)
  'overload',           // shed by the intake queue: too many DISCOVERs waiting, or waited too long
  'store_unavailable',  // the store is away: no new lease, and no renewal beyond what is durable (durable-answer.ts)
  'internal',           // a bug or store failure: logged at error level
] as const;

export type DropReason = (typeof DROP_REASONS)[number];

export class DhcpError extends Error {
  constructor(readonly reason: DropReason, readonly field: string, message: string) {
    super(`${field}: ${message}`);
    this.name = 'DhcpError';
  }
}
