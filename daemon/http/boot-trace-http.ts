// The HTTP side of the boot trace (core/boot-trace.ts): each boot-time request — the iPXE script,
// loaders, kernel and initrd, images, cloud-init and installer answers, agent calls — as one
// entry once its response is finished: method, path with every token redacted, status, bytes,
// duration, and the script handed out (redacted) when the route tells it. A route that knows the
// machine says so (res.locals.traceMachine); otherwise the recorder resolves the TCP peer address
// to the machine that has it as DHCP knows it, or drops the entry. The agent's repeated calls
// (progress reports, log lines) are kept once per REPEAT_MS per address, path and status, so a
// deploy's chatter does not push the machine's DHCP and TFTP steps out of its bounded trace.
import type { NextFunction, Request, Response } from 'express';
import { redactSecrets, type TraceOutcome, type TraceSink } from '../core/boot-trace.js';
import { ChangeGate } from '../core/change-gate.js';
import { sourceOf } from './machine-source.js';

const REPEATED = /^\/v1\/agent\//i;
export const REPEAT_MS = 30_000;

/** What a boot route tells the trace about the response it sent. */
export interface TraceLocals { traceMachine?: string; traceText?: string }

const decoded = (path: string): string => {
  try { return decodeURIComponent(path); } catch { return path; }
};

/** `isBootPath`: the boot routes' own test (boot-dispatch.ts), so the trace covers what they serve. */
export function traceBootRequests(sink: TraceSink | undefined, isBootPath: (path: string) => boolean) {
  const gate = new ChangeGate(REPEAT_MS, 10_000);
  return (req: Request, res: Response, next: NextFunction): void => {
    if (!sink || !isBootPath(req.path)) return next();
    const started = performance.now();
    // Read now: a router mounted at /boot rewrites req.path (/boot/x → /x) while it handles it.
    // iPXE percent-encodes the colons of a MAC: the trace shows the path decoded when it decodes.
    const requested = decoded(req.path);
    // 'close' rather than 'finish': a transfer cut short (the client gone, a read error) is a step too.
    res.once('close', () => {
      const address = sourceOf(req);
      const path = redactSecrets(requested);
      const status = res.statusCode;
      const cut = !res.writableFinished;
      if (REPEATED.test(requested) && !gate.pass(`${address} ${req.method} ${path}`, `${status}${cut}`)) return;
      const locals = res.locals as TraceLocals;
      const outcome: TraceOutcome = cut || status >= 500 ? 'error' : status < 400 ? 'ok' : 'refused';
      const bytes = Number(res.getHeader('content-length') ?? NaN);
      const range = req.get('range');
      sink({
        kind: 'http', outcome, address, ...(locals.traceMachine && { machine: locals.traceMachine }),
        summary: `${req.method} ${path} → ${status}${cut ? ', cut short' : ''}`,
        detail: {
          method: req.method, path, status, client: address, ms: Math.round(performance.now() - started), ...(cut && { cut_short: true }),
          ...(Number.isFinite(bytes) && { bytes }), ...(range && { range: redactSecrets(range) }),
          ...(req.get('user-agent') && { user_agent: req.get('user-agent')! }),
        },
        ...(locals.traceText !== undefined && { text: redactSecrets(locals.traceText) }),
      });
    });
    next();
  };
}
