// The intake queue: exchanges under way first, DISCOVERs shed when too many or too old.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Intake, peekMessageType, type Datagram } from '../../daemon/dhcp/intake.js';
import { Options, Opt, MessageType } from '../../daemon/dhcp/options.js';
import { chaddrFromMac, encode } from '../../daemon/dhcp/packet.js';

const dg = (type: number, id: number, at = Date.now()): Datagram => ({
  msg: encode({ op: 1, htype: 1, hlen: 6, hops: 0, xid: id, secs: 0, flags: 0, ciaddr: '0.0.0.0', yiaddr: '0.0.0.0', siaddr: '0.0.0.0',
    giaddr: '0.0.0.0', chaddr: chaddrFromMac('52:54:00:00:00:01'), sname: '', file: '', options: new Options().setU8(Opt.MESSAGE_TYPE, type) }),
  port: 67, from: { address: '0.0.0.0', port: 68 }, at,
});
// The intake pumps in setImmediate turns: waiting a number of turns, not milliseconds, keeps the
// outcome the same on a loaded machine (a 20 ms timer could fire between two turns).
const settle = async () => { for (let i = 0; i < 50; i++) await new Promise((r) => setImmediate(r)); };

test('peekMessageType finds option 53 without decoding, past pads and other options', () => {
  assert.equal(peekMessageType(dg(MessageType.REQUEST, 1).msg), MessageType.REQUEST);
  assert.equal(peekMessageType(Buffer.alloc(10)), undefined);
  const b = Buffer.concat([Buffer.alloc(240), Buffer.from([0, 0, 12, 1, 65, 53, 1, 3, 255])]);
  assert.equal(peekMessageType(b), 3);
  assert.equal(peekMessageType(Buffer.concat([Buffer.alloc(240), Buffer.from([53, 2, 3])])), undefined);
});

test('REQUESTs overtake DISCOVERs waiting in the same turn', async () => {
  const order: number[] = [];
  const intake = new Intake((d) => order.push(d.msg.readUInt32BE(4)), () => assert.fail('shed'), { batch: 100, maxDiscovers: 100, maxAgeMs: 1000 });
  intake.push(dg(MessageType.DISCOVER, 1));
  intake.push(dg(MessageType.DISCOVER, 2));
  intake.push(dg(MessageType.REQUEST, 3));
  intake.push(dg(MessageType.RELEASE, 4));
  await settle();
  assert.deepEqual(order, [3, 4, 1, 2]);
});

test('excess and stale DISCOVERs are shed with a reason; REQUESTs are not', async () => {
  const done: number[] = [];
  const shed: string[] = [];
  const intake = new Intake((d) => done.push(d.msg.readUInt32BE(4)), (d, why) => shed.push(`${d.msg.readUInt32BE(4)}: ${why}`),
    { batch: 2, maxDiscovers: 2, maxAgeMs: 1000 });
  intake.push(dg(MessageType.DISCOVER, 1, Date.now() - 5000));
  intake.push(dg(MessageType.DISCOVER, 2));
  intake.push(dg(MessageType.DISCOVER, 3));
  intake.push(dg(MessageType.DISCOVER, 4));
  intake.push(dg(MessageType.REQUEST, 5, Date.now() - 500));
  await settle();
  assert.deepEqual(shed.map((s) => s.split(':')[0]), ['1', '2']);
  assert.match(shed[0]!, /queue full/);
  assert.deepEqual(done, [5, 3, 4]);
});
