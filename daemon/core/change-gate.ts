// "Write it when it changed, or at most once every so often when it did not": for records that
// clients re-send many times (a PXE storm's boot facts, a machine re-fetching its iPXE script),
// so a flood of identical requests costs one row per interval, not one per request. Memory is
// bounded: past `maxEntries` ids the table starts over (at worst one extra write per id).
export class ChangeGate {
  private readonly last = new Map<string, { key: string; at: number }>();

  constructor(private readonly everyMs: number, private readonly maxEntries = 100_000) {}

  /** True when `key` differs from what `id` last passed with, or `everyMs` has gone by since. */
  pass(id: string, key: string, now = Date.now()): boolean {
    const prev = this.last.get(id);
    if (prev && prev.key === key && now - prev.at < this.everyMs) return false;
    if (!prev && this.last.size >= this.maxEntries) this.last.clear();
    this.last.set(id, { key, at: now });
    return true;
  }
}
