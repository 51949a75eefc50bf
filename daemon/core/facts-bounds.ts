// What an agent may report as facts. The agent runs on a machine a tenant may have owned a minute
// ago, so its report is attacker-controlled: facts are stored, shown by the API and the CLI, and
// rendered (quoted) into templates. Bounded here, before the store sees them: nesting depth,
// entries per list or mapping, key and string length; strings lose control characters, which
// no honest inspection produces. Pure: the first offence is named by its path.

export const FACT_LIMITS = { depth: 6, entries: 256, keyLength: 64, stringLength: 512 } as const;

export type FactsVerdict = { ok: true; facts: unknown } | { ok: false; path: string; why: string };

// C0 and C1 controls and DEL; tab becomes a space, the rest are dropped.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000a-\u001f\u007f-\u009f]/g;

export function boundFacts(value: unknown, path = 'facts', depth = 0): FactsVerdict {
  if (value === null || typeof value === 'number' || typeof value === 'boolean') return { ok: true, facts: value };
  if (typeof value === 'string') {
    if (value.length > FACT_LIMITS.stringLength) return { ok: false, path, why: `a string of ${value.length} characters (at most ${FACT_LIMITS.stringLength})` };
    return { ok: true, facts: value.replace(/\t/g, ' ').replace(CONTROL, '') };
  }
  if (typeof value !== 'object') return { ok: false, path, why: `not JSON data (${typeof value})` };
  if (depth >= FACT_LIMITS.depth) return { ok: false, path, why: `nested deeper than ${FACT_LIMITS.depth} levels` };
  if (Array.isArray(value)) {
    if (value.length > FACT_LIMITS.entries) return { ok: false, path, why: `${value.length} entries (at most ${FACT_LIMITS.entries})` };
    const out: unknown[] = [];
    for (let i = 0; i < value.length; i++) {
      const v = boundFacts(value[i], `${path}.${i}`, depth + 1);
      if (!v.ok) return v;
      out.push(v.facts);
    }
    return { ok: true, facts: out };
  }
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length > FACT_LIMITS.entries) return { ok: false, path, why: `${entries.length} keys (at most ${FACT_LIMITS.entries})` };
  const out: Record<string, unknown> = {};
  for (const [k, v] of entries) {
    if (depth === 0 && k === 'firmware') {
      const why = firmwareProblem(v);
      if (why) return { ok: false, path: `${path}.firmware`, why };
    }
    if (k.length > FACT_LIMITS.keyLength || !/^[A-Za-z0-9_.-]+$/.test(k)) {
      return { ok: false, path: `${path}.${k.slice(0, 32).replace(/[^A-Za-z0-9_.-]/g, '?')}`, why: `keys are 1–${FACT_LIMITS.keyLength} of A-Z a-z 0-9 _ . -` };
    }
    const b = boundFacts(v, `${path}.${k}`, depth + 1);
    if (!b.ok) return b;
    out[k] = b.facts;
  }
  return { ok: true, facts: out };
}

/**
 * `firmware` is read by Rackhand (the dashboard, constraints): exactly `{ uefi, secure_boot }`,
 * both booleans, and Secure Boot only with UEFI.
 */
function firmwareProblem(v: unknown): string | undefined {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return 'not a mapping of uefi and secure_boot';
  const keys = Object.keys(v).sort().join(',');
  if (keys !== 'secure_boot,uefi') return `keys ${keys || '(none)'}: exactly uefi and secure_boot`;
  const f = v as { uefi: unknown; secure_boot: unknown };
  if (typeof f.uefi !== 'boolean' || typeof f.secure_boot !== 'boolean') return 'uefi and secure_boot are true or false';
  if (f.secure_boot && !f.uefi) return 'Secure Boot without UEFI';
  return undefined;
}
