// Secondary segments: a rack answers DHCP (and serves TFTP) on another rack's segment, through
// its own interface and address there, only while that rack is silent. Opened when the primary
// falls silent and closed when it is heard again, so two racks never answer one segment's DHCP
// at once for longer than one heartbeat; each opening reads the leases afresh from the store
// (the primary wrote them), and leases are unique per address in the store whoever writes them.
import type { Rack } from '../core/inventory/schema.js';
import type { Logger } from '../log.js';

export type SecondaryEntry = Rack['secondary'][number];

export interface Closable {
  close(): Promise<void>;
}

export class SecondarySegments {
  private readonly open = new Map<string, Closable>();
  private updating: Promise<void> = Promise.resolve();

  constructor(
    private readonly start: (entry: SecondaryEntry) => Promise<Closable>,
    private readonly logger: Logger,
  ) {}

  /** Makes the open segments exactly `wanted` (serialized: ticks may come faster than a start). */
  update(wanted: readonly SecondaryEntry[]): Promise<void> {
    this.updating = this.updating.then(() => this.apply(wanted));
    return this.updating;
  }

  private async apply(wanted: readonly SecondaryEntry[]): Promise<void> {
    const keys = new Set(wanted.map((e) => e.rack));
    for (const [rack, segment] of this.open) {
      if (keys.has(rack)) continue;
      this.open.delete(rack);
      await segment.close().catch((err) => this.logger.error({ err, rack }, 'closing a secondary segment failed'));
      this.logger.info({ rack }, `rack ${rack} is heard again: no longer answering DHCP on its segment`);
    }
    for (const entry of wanted) {
      if (this.open.has(entry.rack)) continue;
      try {
        this.open.set(entry.rack, await this.start(entry));
        this.logger.warn({ rack: entry.rack, interface: entry.interface, address: entry.address },
          `rack ${entry.rack} is silent: answering DHCP and TFTP on its segment (${entry.interface}, ${entry.address})`);
      } catch (err) {
        // Tried again at the next heartbeat.
        this.logger.error({ err, rack: entry.rack }, `cannot answer on rack ${entry.rack}'s segment`);
      }
    }
  }

  async close(): Promise<void> {
    await this.update([]);
  }
}
