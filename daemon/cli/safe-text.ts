// Text from the daemon is data, never terminal commands: a machine's last error, an agent's log
// line or an echoed name may carry ESC sequences (colours, cursor moves, a title change, a
// "clear screen"), CR (overwriting what was printed), BEL, C1 controls or Unicode direction
// overrides. The CLI prints its own newlines as layout; in server text a newline or tab becomes a
// space (a log line cannot forge the next one) and every other control character is dropped.

// Whole escape sequences first (CSI, 8-bit CSI, OSC/DCS/APC/PM strings, two-character escapes),
// so that what they wrapped reads cleanly; then any control character left.
const SEQUENCES = /(?:\u001b\[|\u009b)[0-?]*[ -/]*[@-~]|(?:\u001b[\]P^_X]|[\u0090\u009d-\u009f])[^\u0007\u001b\u009c]*(?:\u0007|\u001b\\|\u009c)?|\u001b[ -/]*[0-~]/g;
// C0 but tab and newline; DEL; C1; bidi embeddings, overrides and isolates; line/paragraph separators.
const DROPPED = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;
const SPACED = /[\t\n\u2028\u2029]/g;

export function safeText(s: string): string {
  return s.replace(SEQUENCES, '').replace(DROPPED, '').replace(SPACED, ' ');
}

/** A copy of a parsed JSON answer with every string (keys too) made safe to print. */
export function safeJson(value: unknown): unknown {
  if (typeof value === 'string') return safeText(value);
  if (Array.isArray(value)) return value.map(safeJson);
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value as Record<string, unknown>).map(([k, v]) => [safeText(k), safeJson(v)]));
  }
  return value;
}
