// Reports from an installer (d-i, Anaconda, Subiquity) while it runs: its answer file's first
// command (preseed/early_command, kickstart %pre, autoinstall early-commands) says it started.
// The operation's token in the path, from the machine's own address, while the operation runs
// (boot-token.ts); anything else is refused and recorded like every boot secret. The report is
// idempotent and bounded: the first one of an operation marks its progress (step `installer`,
// `installer_started` with the time) and writes one event; repeats change nothing and write none.
// The end of an install is the phone-home (metadata-routes.ts), as for images.
import { Router, type Request, type Response } from 'express';
import type { BootContext } from './context.js';
import { authorizeBoot } from './boot-token.js';
import { sourceOf } from './machine-source.js';
import { profileOf } from './render.js';
import { ApiError } from './errors.js';
import { INSTALLER_REPORTS, installerReportPath, type InstallerReport } from '../core/urls.js';

export function installerRouter(ctx: BootContext): Router {
  const router = Router();
  // One report of an operation at a time in this daemon, so that two at once write one event.
  const busy = new Map<string, Promise<unknown>>();

  // GET as well as POST, as for phone-home: a minimal fetcher may only GET. No body is read.
  router.all(installerReportPath(':token', ':report'), async (req: Request<{ token: string; report: string }>, res: Response) => {
    if (req.method !== 'GET' && req.method !== 'POST') throw new ApiError('NOT_FOUND', 'report with GET or POST');
    const report = req.params.report as InstallerReport;
    if (!INSTALLER_REPORTS.includes(report)) throw new ApiError('NOT_FOUND', `installers report ${INSTALLER_REPORTS.join(', ')}`);
    const { machine, operation } = await authorizeBoot(ctx.store, req, req.params.token, 'running');
    if (operation.kind !== 'deploy' || profileOf(machine, ctx.inventory())?.profile.kind !== 'installer') {
      throw new ApiError('CONFLICT', `${machine.name} is not being deployed by an installer`);
    }
    const prior = busy.get(operation.id) ?? Promise.resolve();
    const mine = prior.catch(() => undefined).then(async () => {
      const fresh = (await ctx.store.getOperation(operation.id)) ?? operation;
      const at = fresh.progress?.installer_started;
      if (typeof at === 'string') return { first: false, at };
      const now = new Date().toISOString();
      await ctx.store.updateOperation(operation.id, { step: 'installer', progress: { ...(fresh.progress ?? {}), installer_started: now } });
      await ctx.store.appendEvent({
        machine: machine.name, kind: 'boot', event: 'installer_started',
        cause: `the installer started (reported from ${sourceOf(req)})`, actor: `machine:${machine.name}`,
      });
      return { first: true, at: now };
    });
    busy.set(operation.id, mine);
    try {
      const { first, at } = await mine;
      if (first) ctx.logger.info({ machine: machine.name, operation: operation.id }, 'installer started');
      res.set('cache-control', 'no-store').json({ machine: machine.name, operation: operation.id, installer_started: at });
    } finally {
      if (busy.get(operation.id) === mine) busy.delete(operation.id);
    }
  });
  return router;
}
