// /api/v1/racks: every rack of the fleet as the shared store knows it, from any daemon: the
// daemon serving it and when it was last heard, its segments, its machines by state, its open
// work, and who stands in for whom now (the same pure rule each daemon applies to itself).
// Operators only: a tenant has no business with the provisioning infrastructure.
import { Router } from 'express';
import type { ApiContext } from './context.js';
import { operatorOnly } from './scope.js';
import { isSilent, rackDuties, rackSubnets } from '../../core/inventory/racks.js';

export type RackStatus = Awaited<ReturnType<typeof rackStatus>>['racks'][number];

/** Every rack as GET /api/v1/racks tells it (the caller checks who may see it). */
export async function rackStatus(ctx: ApiContext) {
  const inv = ctx.inventory().inventory;
  const records = await ctx.store.listRacks();
  const silentAfter = inv.site.rack_silent_after;
  const names = [...new Set([...Object.keys(inv.racks), ...records.map((r) => r.name)])].sort();
  // Grouped counts from the store (no read of every machine); none at all without racks.
  const [counts, work] = names.length ? await Promise.all([ctx.store.countByRack(), ctx.store.openWorkByRack()]) : [[], []];
  const racks = names.map((name) => {
    const conf = inv.racks[name];
    const rec = records.find((r) => r.name === name);
    const byState: Record<string, number> = {};
    for (const c of counts) if (c.rack === name) byState[c.state] = c.n;
    const duties = conf ? rackDuties(inv, name, records, silentAfter) : undefined;
    return {
      name,
      in_inventory: conf !== undefined,
      daemon: rec?.daemon ?? null,
      api: rec?.info ?? null,
      started_at: rec?.startedAt ?? null,
      heartbeat_at: rec?.heartbeatAt ?? null,
      silent_for: rec?.silentFor ?? null,
      stopped_at: rec?.stoppedAt ?? null,
      alive: !isSilent(rec, silentAfter),
      interface: conf?.interface ?? null,
      address: conf?.address ?? null,
      subnets: conf ? rackSubnets(conf.dhcp) : [],
      standby: conf?.standby ?? null,
      secondary_for: conf?.secondary.map((s) => s.rack) ?? [],
      machines: Object.values(byState).reduce((a, b) => a + b, 0),
      machines_by_state: byState,
      open_work: work.find((w) => w.rack === name)?.n ?? 0,
      // Only meaningful while this rack is alive: a silent rack stands in for nobody.
      standing_in_for: duties && !isSilent(rec, silentAfter) ? duties.standingIn : [],
    };
  });
  return { racks, silent_after: silentAfter };
}

export function racksRouter(ctx: ApiContext): Router {
  const router = Router();
  router.get('/', async (req, res) => {
    operatorOnly(req.principal!, 'see racks');
    res.json(await rackStatus(ctx));
  });
  return router;
}
