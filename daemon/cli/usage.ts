// The CLI's usage text, whole (`rackhand --help`) and per verb (`rackhand VERB --help`), and what
// shell completion offers: verbs, each verb's options, and which words name a machine.
export const USAGE = `usage: rackhand <verb> [options]

  serve [--inventory FILE] [--state-dir DIR] [--store postgresql://…] [--rack NAME]
        [--listen ADDR] [--port N] [--http-only] [--no-power]
  validate [FILE]                       check an inventory and render its templates
  machines [--state S] [--all]          list machines (--all: retired ones too)
  racks                                 each rack: its daemon, heartbeat, segments, machines,
                                        and who stands in for whom
  show MACHINE                          one machine in full
  events [MACHINE] [--since T] [--limit N] [--follow]
  operations MACHINE [--limit N]        the machine's operations (inspect, deploy, erase), newest first
  log MACHINE [OPERATION]               one operation's log (default the latest): events and agent lines
  trace MACHINE [--limit N]             the machine's boot trace, newest last: DHCP, TFTP and HTTP
                                        steps, what each was answered and why
  inspect MACHINE [--wait]              boot the agent to inspect the hardware
  deploy MACHINE [--profile P] [--wait] deploy the machine's (or the given) profile
  reimage|retry MACHINE [--wait]      --wait follows the work live; exit 1 if it fails
  release ALLOCATION|MACHINE [--wait]  release an allocation (alloc-…) or one machine
  allocate --profile P [--owner T] [--cpus N] [--memory 32G] [--disk 100G] [--arch A]
           [--tag T]… [--count N] [--wait]
                                        the smallest ready machines that fit, deployed for T
  allocations [--owner T] [--all]       list allocations (--all: released ones too)
  allocation ID                         one allocation in full
  tokens create --owner T [--name N] [--expires 30d] | tokens list | tokens revoke NAME
                                        owner-scoped tokens for tenants (admin)
  tokens rotate [NAME]                  a new secret for a tokens.json token (default: the
                                        caller's own); the old one is refused at once
  maintenance MACHINE on|off [--reason TEXT]
  accept MACHINE                        let allocations pick a discovered machine (operator)
  forget MACHINE | forget --pending [--reason TEXT]
                                        retire a discovered machine (--pending: every one
                                        awaiting acceptance); its MAC may be discovered again
  power MACHINE on|off|cycle|status [--boot pxe|disk]
  lab up [--machines N] [--racks 2] [--auto-redeploy] [--ssh-key FILE] | lab down | lab status | lab restart-rack RACK
                                        (a virtual rack, or two on one PostgreSQL; root)

  Read verbs take --json. The CLI reaches the daemon at RACKHAND_URL (default
  http://127.0.0.1:8080) with RACKHAND_TOKEN (default: the admin token in the
  state directory's tokens.json).`;

/** The verb lines of the usage (the notes after them left out). */
const VERB_LINES = USAGE.split('\n\n')[1]!.split('\n');

/** The verbs a usage line starts with (`  reimage|retry MACHINE` names two). */
const verbsOf = (line: string): string[] => /^  ([a-z]+(?:\|[a-z]+)*)(?= |$)/.exec(line)?.[1]!.split('|') ?? [];

/** Verbs in the order the usage lists them. */
export const VERBS: string[] = [...new Set(VERB_LINES.flatMap(verbsOf))];

/** The usage lines of one verb (its line and the lines continuing it), or undefined for no such verb. */
export function verbUsage(verb: string): string | undefined {
  const out: string[] = [];
  let inside = false;
  for (const line of VERB_LINES) {
    if (/^  [a-z]/.test(line)) inside = verbsOf(line).includes(verb);
    if (inside) out.push(line);
  }
  return out.length ? `usage: rackhand\n${out.join('\n')}` : undefined;
}

/** The options a verb's usage names (--json and --help for every verb). */
export function verbOptions(verb: string): string[] {
  const text = verbUsage(verb) ?? '';
  return [...new Set([...text.matchAll(/--[a-z][a-z-]*/g)].map((m) => m[0]).concat(['--json', '--help']))].sort();
}

/** Whether the word after `verb` (and after `before`, the words already given) names a machine. */
export function wantsMachine(verb: string, before: string[]): boolean {
  const first = ['show', 'events', 'operations', 'log', 'trace', 'inspect', 'deploy', 'reimage', 'retry', 'release', 'maintenance', 'accept', 'forget', 'power'];
  return first.includes(verb) && before.filter((w) => !w.startsWith('-')).length === 0;
}
