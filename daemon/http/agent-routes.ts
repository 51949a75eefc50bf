// The deploy agent's API. The agent is a busybox shell script, so answers are shell variable
// assignments (key='value' lines) and reports are form-encoded. Each report is idempotent: a
// step reported done twice (the agent retrying after a lost answer) changes nothing.
// The agent starts with the boot nonce from its kernel command line, trades it once for an agent
// token (POST /v1/agent/nonce), and sends that token in a header on every later call; all of it
// only from the machine's own address and only while the operation runs (boot-token.ts).
import express, { Router, type Request, type Response } from 'express';
import { appendFileSync, closeSync, mkdirSync, openSync, readSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { z } from 'zod';
import type { BootContext } from './context.js';
import { authorizeAgent, tradeNonce, type BootAuth } from './boot-token.js';
import { profileOf, siteOf } from './render.js';
import { imageDigest } from './image-digest.js';
import { parseInput } from './validate.js';
import { ApiError } from './errors.js';
import { boundFacts } from '../core/facts-bounds.js';
import { AGENT_STEPS, FINAL_STEPS, compressionOf, doneSteps, nextStep, shellVars, type AgentStep, type OperationProgress } from '../core/agent-plan.js';
import { baseUrl, bootFileUrl, bootPaths } from '../core/urls.js';
import { agentLogPath, formatAgentLine } from '../core/oplog.js';
import type { MachineRecord } from '../core/store/types.js';

/** Most agent log bytes kept per operation; the rest is dropped after one marker line. */
export const AGENT_LOG_CAP = 1 << 20;
export const AGENT_LOG_CUT = 'rackhand: agent log truncated: the operation reached its 1 MiB cap';

const reportBody = z.strictObject({
  step: z.enum(AGENT_STEPS),
  status: z.enum(['started', 'progress', 'done', 'failed']),
  message: z.string().max(4000).optional(),
  facts: z.string().max(256 * 1024).optional(),
  bytes: z.coerce.number().int().min(0).optional(),
  total: z.coerce.number().int().min(0).optional(),
});

const nonceBody = z.strictObject({ nonce: z.string().min(1).max(128) });

/** What the agent reports after inspect; kept loose where hardware varies, strict where we compute. */
const factsSchema = z.looseObject({
  cpus: z.number().int().positive(),
  memory_mib: z.number().int().positive(),
  disks: z.array(z.looseObject({ name: z.string(), size_bytes: z.number().int().min(0) })),
  nics: z.array(z.looseObject({ name: z.string(), mac: z.string() })),
});

export function agentRouter(ctx: BootContext): Router {
  const router = Router();
  const form = express.urlencoded({ extended: false, limit: '512kb', parameterLimit: 50 });
  const text = express.text({ type: () => true, limit: '1mb' });

  router.post(bootPaths.agentNonce, form, async (req: Request, res: Response) => {
    const body = parseInput(nonceBody, req.body ?? {}, 'body');
    const { token, auth } = await tradeNonce(ctx.store, req, body.nonce);
    await ctx.store.appendEvent({ machine: auth.machine.name, kind: 'agent', event: 'nonce_traded', cause: `${auth.operation.kind}: the agent traded its boot nonce`, actor: `agent:${auth.machine.name}` });
    res.type('text/plain').set('cache-control', 'no-store').send(shellVars({ agent_token: token }));
  });

  router.get(`${bootPaths.agent}/next`, async (req: Request, res: Response) => {
    const auth = await authorizeAgent(ctx.store, req);
    res.type('text/plain').set('cache-control', 'no-store').send(await stepVars(ctx, auth, req));
  });

  // The answer to a report is the agent's next step: the report that ends the operation is
  // answered with `poweroff` or `reboot`, since the agent token dies with the operation.
  router.post(`${bootPaths.agent}/report`, form, async (req: Request, res: Response) => {
    const auth = await authorizeAgent(ctx.store, req);
    const body = parseInput(reportBody, req.body ?? {}, 'body');
    const { machine, operation } = auth;
    const done = doneSteps(operation.progress as OperationProgress | null);
    const actor = `agent:${machine.name}`;
    // The machine as a transition left it: the answer needs no second read of it then.
    let moved: MachineRecord | undefined;
    if (body.status === 'failed') {
      moved = (await ctx.transitions.apply({ machine: machine.name, event: 'error', actor, reason: `${body.step} failed: ${body.message ?? 'no message'}` })).machine;
    } else if (body.status === 'done' && !done.includes(body.step) && !FINAL_STEPS.has(body.step)) {
      moved = await completeStep(ctx, auth, body.step, body.facts, actor);
    } else if (body.status === 'progress' || body.status === 'started') {
      await ctx.store.updateOperation(operation.id, {
        step: body.step,
        progress: { ...(operation.progress ?? {}), bytes: body.bytes, total: body.total },
      });
    }
    const fresh = await ctx.store.getOperation(operation.id);
    res.type('text/plain').send(await stepVars(ctx, { machine: moved ?? (await ctx.store.getMachine(machine.name))!, operation: fresh! }, req));
  });

  router.post(`${bootPaths.agent}/log`, text, async (req: Request, res: Response) => {
    const { machine, operation } = await authorizeAgent(ctx.store, req);
    appendCapped(agentLogPath(ctx.stateDir, machine.name, operation.id), String(req.body ?? ''), new Date());
    res.status(204).end();
  });
  return router;
}

/**
 * Appends agent lines to an operation's log until it holds `cap` bytes: the lines that cross the
 * cap are cut at a line end and followed by one marker line; later lines are dropped.
 */
export function appendCapped(file: string, body: string, at: Date, cap = AGENT_LOG_CAP): void {
  mkdirSync(dirname(file), { recursive: true });
  const marker = formatAgentLine(at, AGENT_LOG_CUT);
  // The marker always fits: the lines themselves stop short of the cap by its length.
  const limit = cap - Buffer.byteLength(marker);
  let size = 0;
  try { size = statSync(file).size; } catch { /* the first lines */ }
  if (size >= limit || endsWithMarker(file, size)) return;
  const text = Buffer.from(body.split('\n').filter(Boolean).map((l) => formatAgentLine(at, l)).join(''));
  if (size + text.length <= limit) { appendFileSync(file, text); return; }
  const head = text.subarray(0, limit - size);
  appendFileSync(file, Buffer.concat([head.subarray(0, head.lastIndexOf(0x0a) + 1), Buffer.from(marker)]));
}

function endsWithMarker(file: string, size: number): boolean {
  if (size === 0) return false;
  const fd = openSync(file, 'r');
  try {
    const tail = Buffer.alloc(Math.min(size, 256));
    readSync(fd, tail, 0, tail.length, size - tail.length);
    return tail.toString('utf8').trimEnd().endsWith(AGENT_LOG_CUT);
  } finally { closeSync(fd); }
}

/** Records a step done; the machine after the transition it made, if it made one. */
async function completeStep(ctx: BootContext, auth: BootAuth, step: AgentStep, factsText: string | undefined, actor: string): Promise<MachineRecord | undefined> {
  const { machine, operation } = auth;
  const progress = operation.progress as OperationProgress | null;
  const markDone = () => ctx.store.updateOperation(operation.id, { step, progress: { ...(progress ?? {}), done: [...doneSteps(progress), step] } });
  switch (step) {
    case 'inspect': {
      let facts: unknown;
      try { facts = JSON.parse(factsText ?? ''); } catch { throw new ApiError('BAD_REQUEST', 'body.facts: not JSON', { field: 'body.facts' }); }
      const bounded = boundFacts(facts, 'body.facts');
      if (!bounded.ok) throw new ApiError('BAD_REQUEST', `${bounded.path}: ${bounded.why}`, { field: bounded.path });
      const parsed = factsSchema.safeParse(bounded.facts);
      if (!parsed.success) {
        const issue = parsed.error.issues[0]!;
        throw new ApiError('BAD_REQUEST', `body.facts.${issue.path.join('.')}: ${issue.message}`, { field: `body.facts.${issue.path.join('.')}` });
      }
      // Asked for together, the two writes share one commit (the store commits a turn's writes at once).
      await Promise.all([ctx.store.setFacts(machine.name, parsed.data), markDone()]);
      return (await ctx.transitions.apply({ machine: machine.name, event: 'inspected', actor, cause: `${parsed.data.cpus} CPUs, ${parsed.data.memory_mib} MiB, ${parsed.data.disks.length} disks` })).machine;
    }
    case 'erase': {
      await markDone();
      const loaded = ctx.inventory();
      const profile = profileOf(machine, loaded)?.profile;
      const redeploy = profile?.auto_redeploy ?? loaded.inventory.site.auto_redeploy;
      return (await ctx.transitions.apply({
        machine: machine.name, event: redeploy && profile ? 'redeploy' : 'erased', actor,
        cause: redeploy && profile ? 'disks erased; policy redeploys' : 'disks erased',
      })).machine;
    }
    default:
      await markDone();
      await ctx.store.appendEvent({ machine: machine.name, kind: 'agent', event: `${step}_done`, cause: `${operation.kind}: ${step} done`, actor });
      return undefined;
  }
}

async function stepVars(ctx: BootContext, { machine, operation }: BootAuth, req: Request): Promise<string> {
  const loaded = ctx.inventory();
  const site = siteOf(req, loaded, machine);
  // Whether other work waits matters only once this operation has ended.
  const active = operation.state === 'running' ? undefined : await ctx.store.activeOperation(machine.name);
  const step = nextStep(operation as never, active !== undefined && active.id !== operation.id);
  const vars: Record<string, string | number | undefined> = { step, machine: machine.name, operation: operation.kind };
  const profile = profileOf(machine, loaded)?.profile;
  if (step === 'image' && profile?.kind === 'image') {
    vars.image_url = bootFileUrl(baseUrl(site), profile.image.url);
    vars.image_sha256 = await imageDigest(profile.image, loaded.imagesDir);
    vars.image_compression = compressionOf(profile.image.url);
  }
  if (step === 'erase') vars.erase_mode = profile?.erase ?? site.erase;
  if (step === 'configure') vars.seed_url = baseUrl(site) + bootPaths.nocloud(operation.token);
  return shellVars(vars);
}
