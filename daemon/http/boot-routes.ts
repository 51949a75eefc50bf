// /boot: per-machine iPXE scripts (/boot/MAC.ipxe), and of the images directory only what boot
// needs — loaders for UEFI HTTP Boot, the agent, disk images, installers — with Range, If-Range,
// HEAD and sendfile(2), plus each file's sha256 at FILE.sha256 (boot-files.ts).
// A script is a boot secret (it carries a boot nonce or an installer's answer URL): it is served
// only to the machine's own address. An unknown MAC gets the refuse script and changes nothing:
// enrolment happens only through DHCP on a provisioning interface.
import { Router } from 'express';
import type { BootContext } from './context.js';
import { bootFiles } from './boot-files.js';
import { planBoot, renderScript, type BootPlan } from './ipxe.js';
import { contextFor, profileOf, siteOf } from './render.js';
import { keepNonce, newNonce, requireMachineSource } from './boot-token.js';
import { sourceOf } from './machine-source.js';
import { renderString, templateEnv } from '../core/templates.js';
import { baseUrl } from '../core/urls.js';
import { normalizeMac } from '../core/net.js';
import { ChangeGate } from '../core/change-gate.js';
import type { TraceLocals } from './boot-trace-http.js';

/** A script event is written when the plan changes, or at most once a minute per machine. */
const SCRIPT_EVENT_EVERY_MS = 60_000;

export function bootRouter(ctx: BootContext): Router {
  const router = Router();
  const scriptEvents = new ChangeGate(SCRIPT_EVENT_EVERY_MS);

  // iPXE percent-encodes the colons of ${net0/mac} in a URL path (%3A): decode before matching.
  router.get(/^\/boot\/([^/]+)\.ipxe$/, async (req, res, next) => {
    let raw: string;
    try { raw = decodeURIComponent((req.params as unknown as Record<string, string>)[0]!); } catch { return next(); }
    const mac = normalizeMac(raw);
    if (!mac) return next();
    const loaded = ctx.inventory();
    const machine = await ctx.store.machineByMac(mac);
    const served = siteOf(req, loaded, machine);
    const site = { baseUrl: baseUrl(served), agentArgs: served.agent_args };
    if (!machine) {
      res.type('text/plain').set('cache-control', 'no-store').send(renderScript(planBoot({ mac, machine, operation: undefined, profile: undefined, site })));
      return;
    }
    await requireMachineSource(ctx.store, req, machine);
    const operation = await ctx.store.activeOperation(machine.name);
    const p = profileOf(machine, loaded);
    let installerArgs: string | undefined;
    if (operation && p?.profile.kind === 'installer') {
      installerArgs = renderString(templateEnv(loaded.templatesDir), p.profile.cmdline, contextFor(machine, operation, loaded, served)!);
    }
    // Each agent script carries a new nonce, replacing the last: only the newest boot can trade.
    const nonce = newNonce();
    const plan: BootPlan = planBoot({ mac, machine, operation, profile: p?.profile, installerArgs, site, nonce });
    if (plan.kind === 'agent' && operation) await keepNonce(ctx.store, operation, nonce);
    ctx.logger.info({ mac, machine: machine.name, plan: plan.kind }, `iPXE script: ${plan.why}`);
    if (scriptEvents.pass(machine.name, `${operation?.id}|${plan.kind}|${plan.why}`)) {
      await ctx.store.appendEvent({ machine: machine.name, kind: 'boot', event: `script_${plan.kind}`, cause: plan.why, actor: `http:${sourceOf(req)}` });
    }
    const script = renderScript(plan);
    // The boot trace keeps the script as it was handed out, its nonce redacted (boot-trace-http.ts).
    Object.assign(res.locals, { traceMachine: machine.name, traceText: script } satisfies TraceLocals);
    res.type('text/plain').set('cache-control', 'no-store').send(script);
  });

  // The images directory: only what boot needs, under TFTP's path rules (boot-files.ts).
  router.use('/boot', bootFiles(ctx));
  return router;
}
