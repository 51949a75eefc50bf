// Golden packets: real captures (udhcpc, dhclient, perfdhcp, taken on a veth here) and hand-built
// ones (iPXE, UEFI HTTP boot, relayed, overloaded) decoded and compared with a committed text dump.
// Every packet must survive encode(decode(x)) unchanged. A .hex without its .txt dump fails: after
// adding a capture or a deliberate change to the dump, write the dumps with
//   UPDATE_GOLDEN=1 node --import tsx --test tests/unit/dhcp-golden.test.ts
// and review them in the diff before committing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { decode, encode } from '../../daemon/dhcp/packet.js';
import { dump } from '../../daemon/dhcp/dump.js';
import { assertGolden, UPDATING_GOLDEN } from '../lib/golden.js';
import { tempDir } from '../lib/tmp.js';

const DIR = join(import.meta.dirname, '../fixtures/dhcp');
const hexFiles = readdirSync(DIR).filter((f) => f.endsWith('.hex')).sort();

test('there are golden packets', () => {
  assert.ok(hexFiles.length >= 7, `only ${hexFiles.length} fixtures`);
});

test('a missing golden file fails and says how to write it', { skip: UPDATING_GOLDEN && 'UPDATE_GOLDEN=1 writes it' }, () => {
  const missing = join(tempDir('golden'), 'absent.txt');
  assert.throws(() => assertGolden(missing, 'text\n', import.meta.url),
    /golden file .*absent\.txt is missing: write it with UPDATE_GOLDEN=1 node --import tsx --test tests\/unit\/dhcp-golden\.test\.ts/);
});

for (const file of hexFiles) {
  test(`golden ${file}`, () => {
    const bytes = Buffer.from(readFileSync(join(DIR, file), 'utf8').replace(/\s+/g, ''), 'hex');
    const packet = decode(bytes);
    const text = dump(packet);
    assertGolden(join(DIR, file.replace(/\.hex$/, '.txt')), text, import.meta.url);

    // Round trip: the re-encoded packet decodes to the same value.
    const again = encode(packet, { maxSize: 1500 });
    assert.equal(dump(decode(again)), text);
    // And a packet we encoded ourselves re-encodes to the same bytes.
    assert.deepEqual(encode(decode(again), { maxSize: 1500 }), again);
  });
}
