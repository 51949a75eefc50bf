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
  const [records, machines, work] = await Promise.all([ctx.store.listRacks(), ctx.store.listMachines(), ctx.store.listOpenWork()]);
  const silentAfter = inv.site.rack_silent_after;
  const machineRack = new Map(machines.map((m) => [m.name, m.rack]));
  const names = [...new Set([...Object.keys(inv.racks), ...records.map((r) => r.name)])].sort();
  const racks = names.map((name) => {
    const conf = inv.racks[name];
    const rec = records.find((r) => r.name === name);
    const own = machines.filter((m) => m.rack === name);
    const byState: Record<string, number> = {};
    for (const m of own) byState[m.state] = (byState[m.state] ?? 0) + 1;
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
      machines: own.length,
      machines_by_state: byState,
      open_work: work.filter((w) => machineRack.get(w.machine) === name).length,
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
