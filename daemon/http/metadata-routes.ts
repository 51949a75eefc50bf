// Per-operation documents a booting machine fetches with its token: cloud-init NoCloud data
// (usable as ds=nocloud;s=URL/), installer answer files, and the phone-home that marks a
// deployment done.
import express, { Router, type Request, type Response } from 'express';
import type { BootContext } from './context.js';
import { authorizeBoot } from './boot-token.js';
import { sourceOf } from './machine-source.js';
import { contextFor, defaultNetworkConfig, profileOf, renderFile, siteOf } from './render.js';
import { ApiError } from './errors.js';
import { yamlQuoted } from '../core/template-filters.js';

const NOCLOUD_FILES = ['meta-data', 'user-data', 'vendor-data', 'network-config'] as const;
/**
 * The fields cloud-init's phone_home module posts (`post: all`), as a form. Only their names
 * reach the event log, and only these: the values come from the machine.
 */
const PHONE_HOME_FIELDS = ['instance_id', 'hostname', 'fqdn', 'pub_key_rsa', 'pub_key_ecdsa', 'pub_key_ed25519', 'pub_key_dsa'] as const;

export function metadataRouter(ctx: BootContext): Router {
  const router = Router();

  router.get('/v1/nocloud/:token/:file', async (req: Request<{ token: string; file: string }>, res: Response) => {
    const file = req.params.file as (typeof NOCLOUD_FILES)[number];
    if (!NOCLOUD_FILES.includes(file)) throw new ApiError('NOT_FOUND', `NoCloud has no ${req.params.file}`);
    const { machine, operation } = await authorizeBoot(ctx.store, req, req.params.token, 'deployment');
    const loaded = ctx.inventory();
    const site = siteOf(req, loaded, machine);
    const tctx = contextFor(machine, operation, loaded, site);
    const profile = profileOf(machine, loaded)?.profile;
    let body: string;
    switch (file) {
      case 'meta-data':
        // instance-id changes with every deployment, so cloud-init runs its first-boot modules again.
        body = `instance-id: ${yamlQuoted(operation.id)}\nlocal-hostname: ${yamlQuoted(machine.hostname)}\n`;
        break;
      case 'user-data':
        body = profile?.kind === 'image' && profile.user_data && tctx ? renderFile(loaded, profile.user_data, tctx) : '#cloud-config\n{}\n';
        break;
      case 'vendor-data':
        body = profile?.kind === 'image' && profile.vendor_data && tctx ? renderFile(loaded, profile.vendor_data, tctx) : '';
        break;
      case 'network-config':
        body = profile?.kind === 'image' && profile.network_config && tctx
          ? renderFile(loaded, profile.network_config, tctx) : defaultNetworkConfig(machine, site);
        break;
    }
    res.type('text/plain').set('cache-control', 'no-store').send(body);
  });

  router.get('/v1/answer/:token', async (req: Request<{ token: string }>, res: Response) => {
    const { machine, operation } = await authorizeBoot(ctx.store, req, req.params.token, 'running');
    const loaded = ctx.inventory();
    const p = profileOf(machine, loaded);
    if (p?.profile.kind !== 'installer') throw new ApiError('NOT_FOUND', `${machine.name}'s profile has no answer file`);
    res.type('text/plain').set('cache-control', 'no-store').send(renderFile(loaded, p.profile.answer, contextFor(machine, operation, loaded, siteOf(req, loaded, machine))!));
  });

  // GET as well as POST: installers and minimal systems may only have a fetcher that GETs.
  // cloud-init's phone_home POSTs a form (instance_id, hostname, fqdn, the host keys): a small
  // one is read, after the token and source checks of authorizeBoot ran on the URL.
  const form = express.urlencoded({ extended: false, limit: '32kb', parameterLimit: 16 });
  router.all('/v1/phone-home/:token', async (req: Request<{ token: string }>, res: Response) => {
    if (req.method !== 'GET' && req.method !== 'POST') throw new ApiError('NOT_FOUND', 'phone home with GET or POST');
    const { machine, operation } = await authorizeBoot(ctx.store, req, req.params.token, 'deployment');
    await new Promise<void>((resolve, reject) => form(req, res, (err?: unknown) => (err ? reject(err) : resolve())));
    const posted = (req.body ?? {}) as Record<string, unknown>;
    // A system that says it is another instance is not the one this deployment wrote.
    if (posted.instance_id !== undefined && posted.instance_id !== operation.id) {
      throw new ApiError('CONFLICT', `the phone-home's instance_id is not this deployment's (${operation.id})`, { field: 'instance_id' });
    }
    const fields = PHONE_HOME_FIELDS.filter((f) => typeof posted[f] === 'string');
    const cause = `phoned home from ${sourceOf(req)}${fields.length ? ` (posted ${fields.join(', ')})` : ''}`;
    if (machine.state === 'deployed') {
      res.json({ machine: machine.name, state: machine.state, instance_id: operation.id });
      return;
    }
    if (operation.kind !== 'deploy') throw new ApiError('BAD_REQUEST', `${machine.name} is ${machine.state}: nothing to phone home about`);
    const result = await ctx.transitions.apply({ machine: machine.name, event: 'deployed', actor: `machine:${machine.name}`, cause });
    res.json({ machine: machine.name, state: result.machine.state, instance_id: operation.id });
  });
  return router;
}
