// /boot: per-machine iPXE scripts (/boot/MAC.ipxe), and of the images directory only what boot
// needs — loaders for UEFI HTTP Boot, the agent, disk images, installers — with Range, If-Range,
// HEAD and sendfile(2), plus each file's sha256 at FILE.sha256 (boot-files.ts).
// A script is a boot secret (it carries a boot nonce or an installer's answer URL): it is served
// only to the machine's own address. An unknown MAC gets the refuse script and changes nothing:
// enrolment happens only through DHCP on a provisioning interface. (GRUB's per-machine config is
// the same plan, served over TFTP: grub-tftp.ts.)
import { Router } from 'express';
import type { BootContext } from './context.js';
import { bootFiles } from './boot-files.js';
import { renderScript } from './ipxe.js';
import { siteOf } from './render.js';
import { requireMachineSource } from './boot-token.js';
import { sourceOf } from './machine-source.js';
import { machinePlanner } from './machine-plan.js';
import { normalizeMac } from '../core/net.js';
import type { TraceLocals } from './boot-trace-http.js';

export function bootRouter(ctx: BootContext): Router {
  const router = Router();
  const planFor = machinePlanner(ctx);

  // iPXE percent-encodes the colons of ${net0/mac} in a URL path (%3A): decode before matching.
  router.get(/^\/boot\/([^/]+)\.ipxe$/, async (req, res, next) => {
    let raw: string;
    try { raw = decodeURIComponent((req.params as unknown as Record<string, string>)[0]!); } catch { return next(); }
    const mac = normalizeMac(raw);
    if (!mac) return next();
    const { machine, plan } = await planFor({
      mac, site: (m) => siteOf(req, ctx.inventory(), m), authorize: (m) => requireMachineSource(ctx.store, req, m),
      actor: `http:${sourceOf(req)}`, what: 'iPXE script',
    });
    const script = renderScript(plan);
    // The boot trace keeps the script as it was handed out, its nonce redacted (boot-trace-http.ts).
    if (machine) Object.assign(res.locals, { traceMachine: machine.name, traceText: script } satisfies TraceLocals);
    res.type('text/plain').set('cache-control', 'no-store').send(script);
  });

  // The images directory: only what boot needs, under TFTP's path rules (boot-files.ts).
  router.use('/boot', bootFiles(ctx));
  return router;
}
