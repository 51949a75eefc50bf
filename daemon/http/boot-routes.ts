// /boot: per-machine iPXE scripts (/boot/MAC.ipxe), and of the images directory only what boot
// needs — loaders for UEFI HTTP Boot, the agent, disk images, installers — with Range, If-Range,
// HEAD and sendfile(2), plus each file's sha256 at FILE.sha256 (boot-files.ts).
import { Router } from 'express';
import type { BootContext } from './context.js';
import { bootFiles } from './boot-files.js';
import { planBoot, renderScript } from './ipxe.js';
import { contextFor, profileOf } from './render.js';
import { renderString, templateEnv } from '../core/templates.js';
import { baseUrl } from '../core/urls.js';
import { normalizeMac } from '../core/net.js';
import { act } from '../core/actions.js';
import { discoveredName } from '../core/names.js';
import type { MachineRecord } from '../core/store/types.js';

export function bootRouter(ctx: BootContext): Router {
  const router = Router();

  // iPXE percent-encodes the colons of ${net0/mac} in a URL path (%3A): decode before matching.
  router.get(/^\/boot\/([^/]+)\.ipxe$/, async (req, res, next) => {
    let raw: string;
    try { raw = decodeURIComponent((req.params as unknown as Record<string, string>)[0]!); } catch { return next(); }
    const mac = normalizeMac(raw);
    if (!mac) return next();
    const loaded = ctx.inventory();
    const machine = await discover(ctx, mac, req.ip ?? '');
    const operation = machine ? await ctx.store.activeOperation(machine.name) : undefined;
    const p = machine ? profileOf(machine, loaded) : undefined;
    let installerArgs: string | undefined;
    if (machine && operation && p?.profile.kind === 'installer') {
      installerArgs = renderString(templateEnv(loaded.templatesDir), p.profile.cmdline, contextFor(machine, operation, loaded)!);
    }
    const plan = planBoot({
      mac, machine, operation, profile: p?.profile, installerArgs,
      site: { baseUrl: baseUrl(loaded.inventory.site), agentArgs: loaded.inventory.site.agent_args },
    });
    ctx.logger.info({ mac, machine: machine?.name, plan: plan.kind }, `iPXE script: ${plan.why}`);
    if (machine) {
      await ctx.store.appendEvent({ machine: machine.name, kind: 'boot', event: `script_${plan.kind}`, cause: plan.why, actor: `http:${req.ip}` });
    }
    res.type('text/plain').set('cache-control', 'no-store').send(renderScript(plan));
  });

  // The images directory: only what boot needs, under TFTP's path rules (boot-files.ts).
  router.use('/boot', bootFiles(ctx));
  return router;
}

/**
 * The machine behind a MAC. With site.discovery on, an unknown MAC is enrolled (if the DHCP
 * server has not done so already) and a discovered machine that is merely enrolled starts its
 * inspection now: it is already network-booting, so no power action is needed.
 */
async function discover(ctx: BootContext, mac: string, from: string): Promise<MachineRecord | undefined> {
  let machine = await ctx.store.machineByMac(mac);
  if (!ctx.inventory().inventory.site.discovery) return machine;
  machine ??= await ctx.store.enrolDiscovered({
    name: discoveredName(mac), mac, ip: null, hostname: discoveredName(mac), profile: null, tags: ['discovered'], power: { driver: 'manual' },
  });
  if (machine.source === 'discovered' && machine.state === 'enrolled') {
    machine = (await act(ctx.store, { machine: machine.name, event: 'inspect', actor: 'system', cause: `discovered: iPXE from ${from} asked for its script` })).machine;
  }
  return machine;
}
