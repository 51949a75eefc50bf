// Drives random legal transitions (and lease writes) as fast as it can, until it is killed.
// The crash test SIGKILLs it at random moments and then checks the database.
import { openSqliteStore } from '../../daemon/core/store/sqlite.js';
import { applyEvent, machineEvents } from '../../daemon/core/lifecycle.js';
import { spec } from './machines.js';
import { withOperationPlan } from '../../daemon/core/operation-plan.js';

const [file] = process.argv.slice(2) as [string];
const store = await openSqliteStore(file);
const names = Array.from({ length: 8 }, (_, i) => spec(i + 1));
await store.syncInventory(names, 'crash-test');
process.stdout.write('ready\n');
let n = 0;
for (;;) {
  const name = names[Math.floor(Math.random() * names.length)]!.name;
  const m = (await store.getMachine(name))!;
  const choices = machineEvents(m);
  const event = choices[Math.floor(Math.random() * choices.length)]!;
  const outcome = applyEvent(m, event, { owner: 'crash', reason: `crash test ${n}` });
  await store.transition(withOperationPlan({ machine: name, outcome, cause: `step ${n}`, actor: 'crash-test' }));
  if (n % 3 === 0) {
    await store.putLease({ mac: m.mac, ip: `10.20.1.${n % 250}`, state: 'bound', expiresAt: Date.now() + 60_000, hostname: null, machine: name, updatedAt: Date.now() });
  }
  n++;
}
