// The deploy agent's API. The agent is a busybox shell script, so answers are shell variable
// assignments (key='value' lines) and reports are form-encoded. Each report is idempotent: a
// step reported done twice (the agent retrying after a lost answer) changes nothing.
import express, { Router, type Request, type Response } from 'express';
import { appendFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { z } from 'zod';
import type { BootContext } from './context.js';
import { authorizeBoot, type BootAuth } from './boot-token.js';
import { profileOf } from './render.js';
import { fileUrl } from './ipxe.js';
import { imageDigest } from './image-digest.js';
import { parseInput } from '../api/validate.js';
import { ApiError } from '../api/errors.js';
import { act } from '../core/actions.js';
import { AGENT_STEPS, FINAL_STEPS, compressionOf, doneSteps, nextStep, shellVars, type AgentStep, type OperationProgress } from '../core/agent-plan.js';
import { baseUrl, bootPaths } from '../core/urls.js';
import { agentLogPath, formatAgentLine } from '../core/oplog.js';
import type { Store } from '../core/store/types.js';

const reportBody = z.strictObject({
  step: z.enum(AGENT_STEPS),
  status: z.enum(['started', 'progress', 'done', 'failed']),
  message: z.string().max(4000).optional(),
  facts: z.string().max(256 * 1024).optional(),
  bytes: z.coerce.number().int().min(0).optional(),
  total: z.coerce.number().int().min(0).optional(),
});

/** What the agent reports after inspect; kept loose where hardware varies, strict where we compute. */
const factsSchema = z.looseObject({
  cpus: z.number().int().positive(),
  memory_mib: z.number().int().positive(),
  disks: z.array(z.looseObject({ name: z.string(), size_bytes: z.number().int().min(0) })),
  nics: z.array(z.looseObject({ name: z.string(), mac: z.string() })),
});

export function agentRouter(ctx: BootContext): Router {
  const router = Router();
  const form = express.urlencoded({ extended: false, limit: '512kb' });
  const text = express.text({ type: () => true, limit: '1mb' });

  router.get('/v1/agent/:token/next', async (req: Request<{ token: string }>, res: Response) => {
    // An agent whose operation ended is told to power off or reboot, without a refusal event.
    const auth = await finishedOperation(ctx.store, req.params.token) ?? await authorizeBoot(ctx.store, req, req.params.token, 'running');
    res.type('text/plain').set('cache-control', 'no-store').send(await stepVars(ctx, auth));
  });

  router.post('/v1/agent/:token/report', form, async (req: Request<{ token: string }>, res: Response) => {
    const auth = await authorizeBoot(ctx.store, req, req.params.token, 'running');
    const body = parseInput(reportBody, req.body, 'body');
    const { machine, operation } = auth;
    const done = doneSteps(operation.progress as OperationProgress | null);
    const actor = `agent:${machine.name}`;
    if (body.status === 'failed') {
      await act(ctx.store, { machine: machine.name, event: 'error', actor, reason: `${body.step} failed: ${body.message ?? 'no message'}` });
    } else if (body.status === 'done' && !done.includes(body.step) && !FINAL_STEPS.has(body.step)) {
      await completeStep(ctx, auth, body.step, body.facts, actor);
    } else if (body.status === 'progress' || body.status === 'started') {
      await ctx.store.updateOperation(operation.id, {
        step: body.step,
        progress: { ...(operation.progress ?? {}), bytes: body.bytes, total: body.total },
      });
    }
    const fresh = await ctx.store.getOperation(operation.id);
    res.type('text/plain').send(await stepVars(ctx, { machine: (await ctx.store.getMachine(machine.name))!, operation: fresh! }));
  });

  router.post('/v1/agent/:token/log', text, async (req: Request<{ token: string }>, res: Response) => {
    const { machine, operation } = await finishedOperation(ctx.store, req.params.token) ?? await authorizeBoot(ctx.store, req, req.params.token, 'running');
    const file = agentLogPath(ctx.stateDir, machine.name, operation.id);
    mkdirSync(dirname(file), { recursive: true });
    const at = new Date();
    appendFileSync(file, String(req.body ?? '').split('\n').filter(Boolean).map((l) => formatAgentLine(at, l)).join(''));
    res.status(204).end();
  });
  return router;
}

/**
 * The operation of a token whose work has ended (succeeded or failed, not superseded): its agent
 * may still ask what to do (power off, or reboot into new work) and send its last log lines.
 * Undefined for running operations and unknown or cancelled tokens, which authorizeBoot judges.
 */
async function finishedOperation(store: Store, token: string): Promise<BootAuth | undefined> {
  const operation = token.length >= 16 ? await store.operationByToken(token) : undefined;
  if (!operation || operation.state === 'running' || operation.state === 'cancelled') return undefined;
  const machine = await store.getMachine(operation.machine);
  return machine && { operation, machine };
}

async function completeStep(ctx: BootContext, auth: BootAuth, step: AgentStep, factsText: string | undefined, actor: string): Promise<void> {
  const { machine, operation } = auth;
  const progress = operation.progress as OperationProgress | null;
  const markDone = () => ctx.store.updateOperation(operation.id, { step, progress: { ...(progress ?? {}), done: [...doneSteps(progress), step] } });
  switch (step) {
    case 'inspect': {
      let facts: unknown;
      try { facts = JSON.parse(factsText ?? ''); } catch { throw new ApiError('BAD_REQUEST', 'body.facts: not JSON', { field: 'body.facts' }); }
      const parsed = factsSchema.safeParse(facts);
      if (!parsed.success) {
        const issue = parsed.error.issues[0]!;
        throw new ApiError('BAD_REQUEST', `body.facts.${issue.path.join('.')}: ${issue.message}`, { field: `body.facts.${issue.path.join('.')}` });
      }
      await ctx.store.setFacts(machine.name, parsed.data);
      await markDone();
      await act(ctx.store, { machine: machine.name, event: 'inspected', actor, cause: `${parsed.data.cpus} CPUs, ${parsed.data.memory_mib} MiB, ${parsed.data.disks.length} disks` });
      return;
    }
    case 'erase': {
      await markDone();
      const loaded = ctx.inventory();
      const profile = profileOf(machine, loaded)?.profile;
      const redeploy = profile?.auto_redeploy ?? loaded.inventory.site.auto_redeploy;
      const result = await act(ctx.store, {
        machine: machine.name, event: redeploy && profile ? 'redeploy' : 'erased', actor,
        cause: redeploy && profile ? 'disks erased; policy redeploys' : 'disks erased',
      });
      if (result.operation) ctx.orchestrator.started(result.machine, result.operation);
      return;
    }
    default:
      await markDone();
      await ctx.store.appendEvent({ machine: machine.name, kind: 'agent', event: `${step}_done`, cause: `${operation.kind}: ${step} done`, actor });
  }
}

async function stepVars(ctx: BootContext, { machine, operation }: BootAuth): Promise<string> {
  const loaded = ctx.inventory();
  const site = loaded.inventory.site;
  const active = await ctx.store.activeOperation(machine.name);
  const step = nextStep(operation as never, active !== undefined && active.id !== operation.id);
  const vars: Record<string, string | number | undefined> = { step, machine: machine.name, operation: operation.kind };
  const profile = profileOf(machine, loaded)?.profile;
  if (step === 'image' && profile?.kind === 'image') {
    vars.image_url = fileUrl(baseUrl(site), profile.image.url);
    vars.image_sha256 = await imageDigest(profile.image, loaded.imagesDir);
    vars.image_compression = compressionOf(profile.image.url);
  }
  if (step === 'erase') vars.erase_mode = profile?.erase ?? site.erase;
  if (step === 'configure') vars.seed_url = baseUrl(site) + bootPaths.nocloud(operation.token);
  return shellVars(vars);
}
