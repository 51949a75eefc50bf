// A throwaway self-signed TLS certificate for a test server on loopback, made by the openssl CLI
// (Debian's openssl, in LAB_PACKAGES) into a test's temporary folder. The certificate is its own
// CA: a client trusts it by passing certFile as its CA file. It names 127.0.0.1, 127.0.0.2 and
// localhost, so a client that refuses a redirect to 127.0.0.2 refuses it for the host, not the cert.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

export interface SelfSignedCert { certFile: string; keyFile: string }

export function makeSelfSignedCert(dir: string): SelfSignedCert {
  const certFile = join(dir, 'cert.pem');
  const keyFile = join(dir, 'key.pem');
  // An EC key: generating it takes milliseconds where RSA takes up to a second.
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', keyFile, '-out', certFile, '-days', '7', '-subj', '/CN=rackhand-test-bmc',
    '-addext', 'subjectAltName=IP:127.0.0.1,IP:127.0.0.2,DNS:localhost'], { stdio: ['ignore', 'ignore', 'pipe'] });
  return { certFile, keyFile };
}
