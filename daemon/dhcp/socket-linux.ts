// Binding a UDP socket to one interface on Linux.
//
// A DHCP server must receive broadcasts (a client without an address sends to 255.255.255.255), so
// it binds 0.0.0.0:67; binding the interface's own address would receive no broadcasts. Bound to
// 0.0.0.0 it hears every interface, which a provisioning server must not: it would answer PXE
// clients on the production network. Linux's SO_BINDTOIFINDEX (5.0+; SO_BINDTODEVICE by index)
// restricts both directions to one interface: only datagrams that arrived on it are received, and
// sends, broadcasts to 255.255.255.255 included, leave through it without a route. Node's dgram has
// no such option; `sockopt` (a small N-API addon built from source at install) sets it on the fd.
// It passes integers only, which is why the index variant is used rather than SO_BINDTODEVICE.
import type { Socket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const SOL_SOCKET = 1;
const SO_BINDTOIFINDEX = 62;
const SO_RCVBUFFORCE = 33;

const require = createRequire(import.meta.url);

interface Sockopt {
  setsockopt(socket: unknown, level: number, name: number, value: number): void;
  getsockopt(socket: unknown, level: number, name: number): number;
}

export function interfaceIndex(name: string): number {
  if (!/^[\w.:-]{1,15}$/.test(name)) throw new Error(`interface ${JSON.stringify(name)}: not an interface name`);
  try {
    return Number(readFileSync(`/sys/class/net/${name}/ifindex`, 'utf8').trim());
  } catch {
    throw new Error(`interface ${name}: no such interface in this network namespace`);
  }
}

export function bindToInterface(sock: Socket, ifname: string): void {
  if (process.platform !== 'linux') throw new Error('binding DHCP to one interface needs Linux (SO_BINDTOIFINDEX)');
  const index = interfaceIndex(ifname);
  const { setsockopt, getsockopt } = require('sockopt') as Sockopt;
  // sockopt reads the fd from the handle; the deprecation warning it triggers is not ours to fix.
  const emit = process.emitWarning;
  process.emitWarning = () => undefined;
  try {
    setsockopt(sock, SOL_SOCKET, SO_BINDTOIFINDEX, index);
    const got = getsockopt(sock, SOL_SOCKET, SO_BINDTOIFINDEX);
    if (got !== index) throw new Error(`interface ${ifname}: SO_BINDTOIFINDEX reads back ${got}, wanted ${index}`);
  } finally {
    process.emitWarning = emit;
  }
}

/**
 * A receive buffer past net.core.rmem_max (SO_RCVBUFFORCE, CAP_NET_ADMIN): a PXE storm arrives in
 * bursts, and a garbage collection or a lease commit must not cost the datagrams queued meanwhile.
 * Returns false without the capability; the ordinary size then applies.
 */
export function forceReceiveBuffer(sock: Socket, bytes: number): boolean {
  const { setsockopt } = require('sockopt') as Sockopt;
  const emit = process.emitWarning;
  process.emitWarning = () => undefined;
  try {
    setsockopt(sock, SOL_SOCKET, SO_RCVBUFFORCE, bytes);
    return true;
  } catch {
    return false;
  } finally {
    process.emitWarning = emit;
  }
}
