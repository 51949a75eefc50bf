// A machine's side of the boot protocol, for tests that talk to an in-process daemon over
// loopback: what DHCP would have recorded, the iPXE script, the nonce trade and agent calls.
import type { TestDaemon } from './daemon.js';

/**
 * Records what the DHCP server does when it hands the machine `ip` (full mode): the boot facts of
 * the exchange, the address marked as assigned. Boot secrets are then served to requests from
 * that address (127.0.0.1 for loopback tests).
 */
export async function dhcpGave(d: TestDaemon, mac: string, ip = '127.0.0.1'): Promise<void> {
  const m = await d.daemon.store.machineByMac(mac);
  if (!m) throw new Error(`no machine with MAC ${mac}`);
  await d.daemon.store.recordBootFacts(m.name, { ip, ipAssigned: true, interface: 'lo', seenAt: new Date().toISOString() });
}

export async function script(d: TestDaemon, mac: string): Promise<string> {
  return (await fetch(`${d.url}/boot/${mac}.ipxe`)).text();
}

export function nonceIn(scriptText: string): string | undefined {
  return /rackhand\.nonce=(\S+)/.exec(scriptText)?.[1];
}

export async function tradeNonce(d: TestDaemon, nonce: string): Promise<Response> {
  return fetch(`${d.url}/v1/agent/nonce`, { method: 'POST', body: new URLSearchParams({ nonce }) });
}

/** What the agent does first: fetch the script, trade its nonce, keep the agent token. */
export async function agentToken(d: TestDaemon, mac: string): Promise<string> {
  const text = await script(d, mac);
  const nonce = nonceIn(text);
  if (!nonce) throw new Error(`no nonce in the script:\n${text}`);
  const res = await tradeNonce(d, nonce);
  const body = await res.text();
  const m = /^agent_token='([^']+)'$/m.exec(body);
  if (res.status !== 200 || !m) throw new Error(`nonce trade: ${res.status} ${body}`);
  return m[1]!;
}

export const agentHeaders = (token: string) => ({ 'x-rackhand-agent-token': token });

export async function agentNext(d: TestDaemon, token: string): Promise<{ status: number; text: string }> {
  const r = await fetch(`${d.url}/v1/agent/next`, { headers: agentHeaders(token) });
  return { status: r.status, text: await r.text() };
}

export async function agentReport(d: TestDaemon, token: string, fields: Record<string, string>): Promise<{ status: number; text: string }> {
  const r = await fetch(`${d.url}/v1/agent/report`, { method: 'POST', body: new URLSearchParams(fields), headers: agentHeaders(token) });
  return { status: r.status, text: await r.text() };
}

export async function agentLog(d: TestDaemon, token: string, text: string): Promise<Response> {
  return fetch(`${d.url}/v1/agent/log`, { method: 'POST', body: text, headers: { 'content-type': 'text/plain', ...agentHeaders(token) } });
}

/**
 * The operation token of the machine's running operation: what its installer or deployed system
 * receives in its URLs (answer, NoCloud, phone-home). Read from the store, as templates do.
 */
export async function operationToken(d: TestDaemon, machine: string): Promise<string> {
  const op = await d.daemon.store.activeOperation(machine);
  if (!op) throw new Error(`${machine} has no running operation`);
  return op.token;
}
