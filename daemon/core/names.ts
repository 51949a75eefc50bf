// Names Rackhand gives things itself.

/** A machine first seen by discovery is named after its MAC until an operator names it. */
export function discoveredName(mac: string): string {
  return `discovered-${mac.replace(/:/g, '')}`;
}
