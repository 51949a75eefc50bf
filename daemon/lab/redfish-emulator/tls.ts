// A throwaway CA and a server certificate for 127.0.0.1/localhost, made with Debian's openssl at
// start, so the Redfish driver's verified-TLS path (ca_file) is exercised rather than bypassed.
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface TlsMaterial { caFile: string; ca: string; key: string; cert: string }

export async function makeTls(dir: string, hosts: { ips?: string[]; dns?: string[] } = {}): Promise<TlsMaterial> {
  const f = (n: string) => join(dir, n);
  const ips = hosts.ips ?? ['127.0.0.1'];
  const dns = hosts.dns ?? ['localhost'];
  const san = [...ips.map((i) => `IP:${i}`), ...dns.map((d) => `DNS:${d}`)].join(',');
  // EC keys: fast to make, and every TLS stack in use here accepts them.
  const key = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  await run('openssl', ['req', '-x509', ...key, '-keyout', f('ca.key'), '-out', f('ca.pem'), '-days', '2',
    '-subj', '/CN=Rackhand lab Redfish CA', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
  await run('openssl', ['req', '-new', ...key, '-keyout', f('server.key'), '-out', f('server.csr'), '-subj', '/CN=rackhand-lab-bmc']);
  writeFileSync(f('server.ext'), `subjectAltName=${san}\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n`);
  await run('openssl', ['x509', '-req', '-in', f('server.csr'), '-CA', f('ca.pem'), '-CAkey', f('ca.key'), '-CAcreateserial',
    '-out', f('server.pem'), '-days', '2', '-extfile', f('server.ext')]);
  return { caFile: f('ca.pem'), ca: readFileSync(f('ca.pem'), 'utf8'), key: readFileSync(f('server.key'), 'utf8'), cert: readFileSync(f('server.pem'), 'utf8') };
}
