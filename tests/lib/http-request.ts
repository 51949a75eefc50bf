// One plain HTTP(S) request for tests that talk to a Redfish peer directly: never follows a
// redirect (a test wants to see the 307 itself), trusts a given CA file (a peer's self-signed
// certificate: global fetch cannot take one), and returns the body parsed when it is JSON.
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { readFileSync } from 'node:fs';
import type { IncomingHttpHeaders } from 'node:http';

export interface PeerReply {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
  /** The body parsed as JSON, or undefined when it is empty or not JSON. */
  json: any;
}

export interface PeerRequest {
  method?: string;
  headers?: Record<string, string>;
  /** Sent as JSON (with Content-Type: application/json) unless it is already a string. */
  body?: unknown;
  /** Basic auth. */
  auth?: { username: string; password: string };
  caFile?: string;
  timeoutMs?: number;
}

export function peerRequest(url: string, opts: PeerRequest = {}): Promise<PeerReply> {
  const u = new URL(url);
  const headers: Record<string, string> = { Accept: 'application/json', ...opts.headers };
  let payload: string | undefined;
  if (opts.body !== undefined) {
    payload = typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body);
    if (!Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) headers['Content-Type'] = 'application/json';
    headers['Content-Length'] = String(Buffer.byteLength(payload));
  }
  if (opts.auth) headers.Authorization = `Basic ${Buffer.from(`${opts.auth.username}:${opts.auth.password}`).toString('base64')}`;
  const send = u.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = send(u, {
      method: opts.method ?? 'GET', headers, agent: false,
      ...(u.protocol === 'https:' && opts.caFile ? { ca: readFileSync(opts.caFile) } : {}),
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json: any;
        try { json = text ? JSON.parse(text) : undefined; } catch { json = undefined; }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
      });
    });
    req.setTimeout(opts.timeoutMs ?? 10_000, () => req.destroy(new Error(`${opts.method ?? 'GET'} ${url}: no answer in ${opts.timeoutMs ?? 10_000} ms`)));
    req.on('error', reject);
    req.end(payload);
  });
}
