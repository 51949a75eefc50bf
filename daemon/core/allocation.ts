// Choosing machines for an allocation (SPEC §2b): a pure function of the ready machines and the
// constraints. Best fit means the smallest machines that satisfy every constraint, so that big
// machines stay free for requests only they can serve; ties are broken by name so the choice is
// repeatable. When nothing fits, the answer names the constraint that stopped it, so a tenant
// knows what to relax.

/** What a tenant asks for; every field is optional and a missing one matches anything. */
export interface Constraints {
  cpus?: number;
  memory_gib?: number;
  /** The largest disk, in GiB (the one an image is written to). */
  disk_gib?: number;
  arch?: string;
  /** Inventory tags, all required. */
  tags?: string[];
}

export const CONSTRAINT_NAMES = ['cpus', 'memory_gib', 'disk_gib', 'arch', 'tags'] as const;
export type ConstraintName = (typeof CONSTRAINT_NAMES)[number];

/** The part of a machine the matcher reads. */
export interface Candidate {
  name: string;
  tags: string[];
  facts: Record<string, unknown> | null;
}

/** A machine's size as the matcher compares it; undefined where inspection did not say. */
export interface Size {
  cpus?: number;
  memory_gib?: number;
  disk_gib?: number;
  arch?: string;
}

export interface Miss {
  /** `count` when enough machines fit each constraint but too few of them are ready. */
  constraint: ConstraintName | 'count';
  /** What was asked, e.g. `memory_gib >= 64` or `tags include gpu`. */
  wanted: string;
  /** The nearest any ready machine comes, e.g. `32` (GiB) or `2 of 3 tags`; null when none says. */
  best: string | null;
}

export type Match<C extends Candidate> =
  | { ok: true; machines: C[] }
  | {
    ok: false;
    /** The constraint to relax: the one no ready machine meets, else the one the closest machines miss. */
    unmet: Miss;
    /** How many ready machines came closest (missed the fewest constraints). */
    closest: number;
    /** How many ready machines satisfy every constraint (fewer than `count`). */
    fitting: number;
    ready: number;
    message: string;
    /** Ready machines left out because no operator has accepted them yet (set by the caller). */
    unaccepted?: number;
  };

const GIB = 1024 ** 3;
const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

/** The comparable size of a machine from its inspected facts. */
export function sizeOf(c: Candidate): Size {
  const f = c.facts ?? {};
  const memMib = num(f.memory_mib);
  const disks = Array.isArray(f.disks) ? f.disks.map((d) => num((d as { size_bytes?: unknown })?.size_bytes)).filter((n) => n !== undefined) : [];
  return {
    cpus: num(f.cpus),
    memory_gib: memMib === undefined ? undefined : memMib / 1024,
    disk_gib: disks.length ? Math.max(...disks) / GIB : undefined,
    arch: typeof f.arch === 'string' ? f.arch : undefined,
  };
}

/** The constraints a machine misses, in CONSTRAINT_NAMES order. */
export function misses(c: Candidate, want: Constraints): ConstraintName[] {
  const s = sizeOf(c);
  const out: ConstraintName[] = [];
  const below = (have: number | undefined, need: number | undefined) => need !== undefined && (have === undefined || have < need);
  if (below(s.cpus, want.cpus)) out.push('cpus');
  if (below(s.memory_gib, want.memory_gib)) out.push('memory_gib');
  if (below(s.disk_gib, want.disk_gib)) out.push('disk_gib');
  if (want.arch !== undefined && s.arch !== want.arch) out.push('arch');
  if (want.tags?.some((t) => !c.tags.includes(t))) out.push('tags');
  return out;
}

/** Smaller first: cpus, then memory, then the largest disk, then the name. Unknown sizes sort last. */
export function bySize(a: Candidate, b: Candidate): number {
  const sa = sizeOf(a);
  const sb = sizeOf(b);
  for (const k of ['cpus', 'memory_gib', 'disk_gib'] as const) {
    const x = sa[k] ?? Infinity;
    const y = sb[k] ?? Infinity;
    if (x !== y) return x < y ? -1 : 1;
  }
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

/**
 * Smallest first as bySize, but machines of equal size in the order of `rank` (lower first)
 * instead of by name: requests racing for a pool of identical machines each take different ones.
 */
export function bySizeThenRank(rank: (name: string) => number) {
  return (a: Candidate, b: Candidate): number => {
    const sized = bySize({ ...a, name: '' }, { ...b, name: '' });
    return sized !== 0 ? sized : rank(a.name) - rank(b.name) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
  };
}

/**
 * Picks `count` machines from `ready` (all assumed ready): the smallest that meet every
 * constraint, all or nothing.
 */
export function match<C extends Candidate>(ready: readonly C[], want: Constraints, count = 1, order: (a: C, b: C) => number = bySize): Match<C> {
  const scored = ready.map((c) => ({ c, miss: misses(c, want) }));
  const fitting = scored.filter((s) => s.miss.length === 0).map((s) => s.c).sort(order);
  if (fitting.length >= count) return { ok: true, machines: fitting.slice(0, count) };

  const fail = (unmet: Miss, closest: number, message: string): Match<C> => ({
    ok: false, unmet, closest, fitting: fitting.length, ready: ready.length, message,
  });
  if (ready.length === 0) {
    return fail({ constraint: 'count', wanted: `count ${count}`, best: '0' }, 0, 'no machine is ready');
  }
  // Enough machines fit every constraint except that there are too few of them.
  if (fitting.length > 0) {
    const unmet: Miss = { constraint: 'count', wanted: `count ${count}`, best: String(fitting.length) };
    return fail(unmet, fitting.length, `only ${fitting.length} ready machine${fitting.length === 1 ? '' : 's'} of ${ready.length} meet${fitting.length === 1 ? 's' : ''} the constraints; ${count} asked`);
  }
  // A constraint no ready machine meets is the one to relax; otherwise the one most often missed
  // by the machines that missed the fewest.
  const fewest = Math.min(...scored.map((s) => s.miss.length));
  const closest = scored.filter((s) => s.miss.length === fewest);
  const nobody = CONSTRAINT_NAMES.find((k) => scored.every((s) => s.miss.includes(k)));
  const counts = CONSTRAINT_NAMES.map((k) => ({ k, n: closest.filter((s) => s.miss.includes(k)).length }));
  const mostMissed = counts.reduce((a, b) => (b.n > a.n ? b : a)).k;
  const constraint = nobody ?? mostMissed;
  const unmet = describe(constraint, want, ready);
  // Among those, the nearest on the named constraint (64 of 128 cpus beats 4 of 128).
  const near = nearest(closest.map((s) => s.c), constraint, want);
  const nearMiss = closest.filter((s) => near.includes(s.c));
  const who = `${near.length} machine${near.length === 1 ? '' : 's'} came closest, missing ${fewest === 1 ? 'only ' : ''}${[...new Set(nearMiss.flatMap((s) => s.miss))].join(', ')}`;
  const head = nobody
    ? `no ready machine meets ${unmet.wanted}${unmet.best !== null ? ` (the most any has: ${unmet.best})` : ''}`
    : `no ready machine meets every constraint; ${unmet.wanted} is missed most`;
  return fail(unmet, near.length, `${head}; ${who}`);
}

/** The candidates that come nearest on one constraint (all of them for arch, which has no nearer). */
function nearest<C extends Candidate>(cands: C[], k: ConstraintName, want: Constraints): C[] {
  const score = (c: C): number => {
    if (k === 'arch') return 0;
    if (k === 'tags') return (want.tags ?? []).filter((t) => c.tags.includes(t)).length;
    return sizeOf(c)[k] ?? -Infinity;
  };
  const top = Math.max(...cands.map(score));
  return cands.filter((c) => score(c) === top);
}

/** The constraint as asked and the nearest any ready machine comes to it. */
function describe(k: ConstraintName, want: Constraints, ready: readonly Candidate[]): Miss {
  const sizes = ready.map(sizeOf);
  const max = (vals: (number | undefined)[]) => {
    const known = vals.filter((v): v is number => v !== undefined);
    return known.length ? String(round(Math.max(...known))) : null;
  };
  switch (k) {
    case 'cpus': return { constraint: k, wanted: `cpus >= ${want.cpus}`, best: max(sizes.map((s) => s.cpus)) };
    case 'memory_gib': return { constraint: k, wanted: `memory_gib >= ${want.memory_gib}`, best: max(sizes.map((s) => s.memory_gib)) };
    case 'disk_gib': return { constraint: k, wanted: `disk_gib >= ${want.disk_gib}`, best: max(sizes.map((s) => s.disk_gib)) };
    case 'arch': {
      const seen = [...new Set(sizes.map((s) => s.arch).filter((a) => a !== undefined))].sort();
      return { constraint: k, wanted: `arch = ${want.arch}`, best: seen.length ? seen.join(', ') : null };
    }
    case 'tags': {
      const tags = want.tags ?? [];
      const most = Math.max(...ready.map((c) => tags.filter((t) => c.tags.includes(t)).length));
      return { constraint: k, wanted: `tags include ${tags.join(', ')}`, best: `${most} of ${tags.length} tags` };
    }
  }
}

const round = (n: number) => Math.round(n * 100) / 100;
