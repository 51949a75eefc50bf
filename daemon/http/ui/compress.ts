// gzip for the dashboard's text answers (pages, fragments, CSS, JavaScript) when the browser
// accepts it: a page of the machines list shrinks several times over. Streams (text/event-stream)
// are written, not sent, and stay as they are. Small bodies go as they are (no gain).
//
// BREACH (secrets in compressed pages that also reflect a request's text, such as the CSRF token
// beside a filter value): an attacker would have to make the victim's browser send chosen
// requests with its session, and the session cookie is SameSite=Strict: a request another site
// starts carries no session and gets the sign-in page, with no secret in it.
import { gzip } from 'node:zlib';
import type { NextFunction, Request, Response } from 'express';

const MIN_BYTES = 1024;
const COMPRESSIBLE = /^(text\/(html|css|javascript)|application\/javascript)\b/;

export function compressText() {
  return (req: Request, res: Response, next: NextFunction) => {
    const send = res.send.bind(res);
    const accepts = acceptsGzip(req.get('accept-encoding'));
    res.send = (body?: unknown) => {
      const type = String(res.get('content-type') ?? '');
      if (typeof body !== 'string' || !COMPRESSIBLE.test(type) || res.get('content-encoding')) return send(body);
      res.vary('Accept-Encoding');
      if (!accepts || Buffer.byteLength(body) < MIN_BYTES || req.method === 'HEAD') return send(body);
      gzip(body, (err, zipped) => {
        if (err) return void send(body);
        res.set('Content-Encoding', 'gzip');
        send(zipped);
      });
      return res;
    };
    next();
  };
}

/** gzip is named in Accept-Encoding (or `*` is) with a weight above zero. */
export function acceptsGzip(header: string | undefined): boolean {
  return (header ?? '').split(',').some((part) => {
    const [coding, ...params] = part.trim().toLowerCase().split(';');
    const q = params.map((x) => x.trim()).find((x) => x.startsWith('q='));
    return (coding === 'gzip' || coding === '*') && (q === undefined || Number(q.slice(2)) > 0);
  });
}
