// Medians with their ranges, the way every bench reports repeated runs on a noisy host.

/** The median of `xs` (the lower middle for an even count: a value that was measured). */
export function median(xs: readonly number[]): number {
  const v = [...xs].sort((a, b) => a - b);
  return v[Math.floor((v.length - 1) / 2)]!;
}

/** "median (min–max)", each through `fmt`. */
export function spread(xs: readonly number[], fmt: (x: number) => string = String): string {
  return `${fmt(median(xs))} (${fmt(Math.min(...xs))}–${fmt(Math.max(...xs))})`;
}
