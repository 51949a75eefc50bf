// The BootTraceStore contract: a batch appends in order and reads back newest last, each machine
// keeps only its newest `keep` entries (pruned in the same write, other machines untouched),
// hostile text comes back as the same data, and what one handle writes another reads (many racks:
// the daemon serving the rack writes, any daemon's API reads).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { BootTraceStore } from '../../../daemon/core/store/types.js';
import type { NewTraceEntry } from '../../../daemon/core/boot-trace.js';
import { withStore, type StoreFactory } from './support.js';

const entry = (machine: string, i: number, over: Partial<NewTraceEntry> = {}): NewTraceEntry => ({
  machine, kind: 'dhcp', outcome: 'ok', summary: `step ${i}`, detail: { xid: `0x${i.toString(16)}`, n: i, ipxe: i % 2 === 0, none: null },
  at: new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString(), ...over,
});

export function describeBootTraceStore(name: string, make: StoreFactory<BootTraceStore>): void {
  describe(`BootTraceStore: ${name}`, () => {
    test('a batch reads back newest last, with its fields, and another handle sees it', () => withStore(make, async (store, more) => {
      await store.appendBootTrace([entry('node-01', 1), entry('node-01', 2, { kind: 'http', outcome: 'refused', text: '#!ipxe\nexit\n' }), entry('node-02', 3)], 10);
      const other = await more();
      const got = await other.listBootTrace('node-01', 10);
      assert.deepEqual(got.map((e) => [e.summary, e.kind, e.outcome]), [['step 1', 'dhcp', 'ok'], ['step 2', 'http', 'refused']]);
      assert.deepEqual(got[0]!.detail, { xid: '0x1', n: 1, ipxe: false, none: null });
      assert.equal(got[0]!.at, '2026-01-01T00:00:01.000Z');
      assert.equal(got[0]!.text, undefined);
      assert.equal(got[1]!.text, '#!ipxe\nexit\n');
      assert.ok(got[1]!.id > got[0]!.id);
      assert.deepEqual((await store.listBootTrace('node-02', 10)).map((e) => e.summary), ['step 3']);
      assert.deepEqual(await store.listBootTrace('node-99', 10), [], 'a machine without a trace has none');
    }));

    test('each machine keeps its newest `keep` entries, pruned in the write; limit reads the latest', () => withStore(make, async (store) => {
      await store.appendBootTrace(Array.from({ length: 5 }, (_, i) => entry('node-02', i)), 3);
      for (let i = 1; i <= 12; i++) await store.appendBootTrace([entry('node-01', i)], 4);
      assert.deepEqual((await store.listBootTrace('node-01', 100)).map((e) => e.summary), ['step 9', 'step 10', 'step 11', 'step 12']);
      assert.deepEqual((await store.listBootTrace('node-01', 2)).map((e) => e.summary), ['step 11', 'step 12']);
      assert.deepEqual((await store.listBootTrace('node-02', 100)).map((e) => e.summary), ['step 2', 'step 3', 'step 4'], 'one batch over the bound keeps its newest');
      await store.appendBootTrace(Array.from({ length: 3 }, (_, i) => entry('node-01', 20 + i)), 4);
      assert.deepEqual((await store.listBootTrace('node-02', 100)).length, 3, 'pruning one machine leaves the others');
    }));

    test('hostile text is data: quotes, markup, NUL and long strings come back as written (NUL may become U+FFFD)', () => withStore(make, async (store) => {
      const hostile = `<script>alert(1)</script>'"; DROP TABLE boot_trace; --\u0000\u001b[31m`;
      await store.appendBootTrace([entry('node-01', 1, { summary: hostile, detail: { vendor_class: hostile }, text: hostile })], 10);
      const [got] = await store.listBootTrace('node-01', 1);
      const same = (s: unknown) => String(s).replace('\uFFFD', '\u0000');
      assert.equal(same(got!.summary), hostile);
      assert.equal(same(got!.detail.vendor_class), hostile);
      assert.equal(same(got!.text), hostile);
    }));
  });
}
