// `rackhand __complete WORD…` (hidden): what bash completion offers for the last word, one per
// line, given the words before it: verbs, a verb's options, machine names where a machine is
// named (read from the daemon; nothing when it cannot be reached, fast). Used by
// systemd/rackhand.bash-completion; never prints an error.
import { apiClient } from './client.js';
import { VERBS, verbOptions, wantsMachine } from './usage.js';

export async function completeCmd(words: string[]): Promise<number> {
  const current = words.at(-1) ?? '';
  const [verb, ...between] = words.slice(0, -1);
  let candidates: string[];
  if (verb === undefined) candidates = VERBS;
  else if (current.startsWith('-')) candidates = verbOptions(verb);
  else if (wantsMachine(verb, between)) candidates = await machineNames();
  else candidates = [];
  const out = candidates.filter((c) => c.startsWith(current));
  if (out.length) process.stdout.write(out.join('\n') + '\n');
  return 0;
}

async function machineNames(): Promise<string[]> {
  try {
    const api = apiClient({ timeoutMs: 2000 });
    const { machines } = await api.get<{ machines: { name: string }[] }>('/api/v1/machines');
    // Names are DNS labels (the inventory's rule); anything else is not offered to the shell.
    return machines.map((m) => m.name).filter((n) => /^[a-z0-9-]{1,63}$/.test(n));
  } catch {
    return [];
  }
}
