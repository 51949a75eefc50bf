// Settings that are valid but put tenants at risk: `rackhand validate` prints them as warnings
// (exit 0) and the daemon logs them at start. The inventory cannot tell whether a machine will
// change hands (tenants and allocations are made at run time), so a risky setting is warned
// about wherever it is chosen.
import type { Inventory } from './schema.js';
import type { Finding } from './checks.js';
import { storeUrlHasPassword } from '../store/location.js';

const QUICK_RISK = 'erase quick wipes only signatures and the first and last 16 MiB, unverified: '
  + 'the previous tenant\'s data in between stays readable by whoever gets the machine next; '
  + 'use secure (the default) unless no machine ever changes hands';

const PLAIN_HTTP_RISK = 'plain http://: the BMC password (basic auth) or its session token crosses the network '
  + 'in clear, readable by anything on the BMC network; use https:// (with ca_file) unless this is a lab';

const STORE_PASSWORD_RISK = 'a database password written in the inventory is readable by whoever reads the file: '
  + 'give it through PGPASSWORD or ~/.pgpass (the daemon\'s user\'s) instead';

export function inventoryWarnings(inv: Inventory): Finding[] {
  const out: Finding[] = [];
  if (inv.site.store && storeUrlHasPassword(inv.site.store)) out.push({ path: ['site', 'store'], message: STORE_PASSWORD_RISK });
  inv.machines.forEach((m, i) => {
    if (m.power.driver === 'redfish' && /^http:\/\//i.test(m.power.address)) out.push({ path: ['machines', i, 'power', 'address'], message: PLAIN_HTTP_RISK });
  });
  if (inv.site.erase === 'quick') out.push({ path: ['site', 'erase'], message: QUICK_RISK });
  for (const [name, profile] of Object.entries(inv.profiles)) {
    if (profile.erase === 'quick') out.push({ path: ['profiles', name, 'erase'], message: QUICK_RISK });
  }
  return out;
}
