// Golden packets: real captures (udhcpc, dhclient, perfdhcp, taken on a veth here) and hand-built
// ones (iPXE, UEFI HTTP boot, relayed, overloaded) decoded and compared with a committed text dump.
// UPDATE_GOLDEN=1 rewrites the dumps. Every packet must survive encode(decode(x)) unchanged.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { decode, encode } from '../../daemon/dhcp/packet.js';
import { dump } from '../../daemon/dhcp/dump.js';

const DIR = join(import.meta.dirname, '../fixtures/dhcp');
const hexFiles = readdirSync(DIR).filter((f) => f.endsWith('.hex')).sort();

test('there are golden packets', () => {
  assert.ok(hexFiles.length >= 7, `only ${hexFiles.length} fixtures`);
});

for (const file of hexFiles) {
  test(`golden ${file}`, () => {
    const bytes = Buffer.from(readFileSync(join(DIR, file), 'utf8').replace(/\s+/g, ''), 'hex');
    const packet = decode(bytes);
    const text = dump(packet);
    const golden = join(DIR, file.replace(/\.hex$/, '.txt'));
    if (process.env.UPDATE_GOLDEN === '1' || !existsSync(golden)) writeFileSync(golden, text);
    assert.equal(text, readFileSync(golden, 'utf8'));

    // Round trip: the re-encoded packet decodes to the same value.
    const again = encode(packet, { maxSize: 1500 });
    assert.equal(dump(decode(again)), text);
    // And a packet we encoded ourselves re-encodes to the same bytes.
    assert.deepEqual(encode(decode(again), { maxSize: 1500 }), again);
  });
}
