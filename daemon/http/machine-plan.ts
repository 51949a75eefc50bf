// The boot plan of the machine with a MAC, as the iPXE script route and GRUB's TFTP config both
// hand it out: looked up, checked against where the request came from (the caller's `authorize`,
// which throws), the installer's command line rendered, a fresh boot nonce minted and kept for an
// agent plan (replacing the last: only the newest boot can trade), logged, and an event written
// when the plan changes. An unknown MAC gets the refuse plan and changes nothing.
import type { BootContext } from './context.js';
import { planBoot, type BootPlan } from './ipxe.js';
import { contextFor, profileOf } from './render.js';
import { keepNonce, newNonce } from './boot-token.js';
import { renderString, templateEnv } from '../core/templates.js';
import { baseUrl } from '../core/urls.js';
import { ChangeGate } from '../core/change-gate.js';
import type { Site } from '../core/inventory/schema.js';
import type { MachineRecord } from '../core/store/types.js';

/** A plan event is written when the plan changes, or at most once a minute per machine. */
const PLAN_EVENT_EVERY_MS = 60_000;

export interface MachinePlan {
  machine: MachineRecord | undefined;
  plan: BootPlan;
}

export interface PlanRequest {
  mac: string;
  /** The site as this request's network sees it (siteOf / siteFor). */
  site: (machine: MachineRecord | undefined) => Site;
  /** Throws unless the request comes from the machine's own address. */
  authorize: (machine: MachineRecord) => Promise<void>;
  /** Who asked, for the event: `http:ADDRESS` or `tftp:ADDRESS`. */
  actor: string;
  /** What is handed out, for the log: `iPXE script`, `GRUB config`. */
  what: string;
}

/** One gate per store: the iPXE route and GRUB's TFTP config share it. */
const gates = new WeakMap<object, ChangeGate>();

export function machinePlanner(ctx: BootContext): (req: PlanRequest) => Promise<MachinePlan> {
  let planEvents = gates.get(ctx.store);
  if (!planEvents) { planEvents = new ChangeGate(PLAN_EVENT_EVERY_MS); gates.set(ctx.store, planEvents); }
  const gate = planEvents;
  return async (req) => {
    const { mac } = req;
    const loaded = ctx.inventory();
    const machine = await ctx.store.machineByMac(mac);
    const served = req.site(machine);
    const site = { baseUrl: baseUrl(served), agentArgs: served.agent_args };
    if (!machine) return { machine, plan: planBoot({ mac, machine, operation: undefined, profile: undefined, site }) };
    await req.authorize(machine);
    const operation = await ctx.store.activeOperation(machine.name);
    const p = profileOf(machine, loaded);
    let installerArgs: string | undefined;
    if (operation && p?.profile.kind === 'installer') {
      installerArgs = renderString(templateEnv(loaded.templatesDir), p.profile.cmdline, contextFor(machine, operation, loaded, served)!);
    }
    const nonce = newNonce();
    const plan = planBoot({ mac, machine, operation, profile: p?.profile, installerArgs, site, nonce });
    if (plan.kind === 'agent' && operation) await keepNonce(ctx.store, operation, nonce);
    ctx.logger.info({ mac, machine: machine.name, plan: plan.kind }, `${req.what}: ${plan.why}`);
    if (gate.pass(machine.name, `${operation?.id}|${plan.kind}|${plan.why}`)) {
      await ctx.store.appendEvent({ machine: machine.name, kind: 'boot', event: `script_${plan.kind}`, cause: plan.why, actor: req.actor });
    }
    return { machine, plan };
  };
}
