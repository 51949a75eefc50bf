// A separate process that waits until an agreed instant, then tries one compare-and-set:
// allocate node-01 from `ready` to its owner. Prints "won" or "lost".
import { openSqliteStore } from '../../daemon/core/store/sqlite.js';
import { applyEvent } from '../../daemon/core/lifecycle.js';
import { withOperationPlan } from '../../daemon/core/operation-plan.js';

const [file, goAt, owner] = process.argv.slice(2) as [string, string, string];
const store = await openSqliteStore(file);
const outcome = applyEvent({ state: 'ready', previousState: null, owner: null }, 'allocate', { owner });
while (Date.now() < Number(goAt)) { /* spin to the start line so the racers collide */ }
const result = await store.transition(withOperationPlan({ machine: 'node-01', outcome, cause: 'race', actor: owner }));
process.stdout.write(result.ok ? 'won\n' : 'lost\n');
await store.close();
