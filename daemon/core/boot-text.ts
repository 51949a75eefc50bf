// The one gate for text Rackhand did not write itself (errors, names, facts, BMC text, rendered
// installer arguments) on its way into an iPXE script, a GRUB config or a kernel command line.
// Those are interpreted languages: iPXE splits commands on newlines, `;`, `&&` and `||`, expands
// `${…}` and starts comments with `#`; GRUB also quotes and escapes. Removing newlines is not
// enough, so these functions keep a small safe character set instead of escaping a dangerous one.
// Pure.

/** Longest free-text value in a script line; longer values are cut and marked. */
export const BOOT_TEXT_MAX = 200;
export const CUT_MARKER = '...(cut)';

/**
 * Characters that mean nothing to iPXE, GRUB or a shell beyond themselves. Everything else
 * (control characters, quotes, backslash, `;&|$#{}`, backquote, glob and redirection characters,
 * non-ASCII) becomes `_`.
 */
const TEXT_UNSAFE = /[^A-Za-z0-9 .,:/()@+=%~[\]_-]/g;

/** Free text for a comment or an `echo` line: safe characters only, one line, bounded. */
export function bootText(value: string, max = BOOT_TEXT_MAX): string {
  // Whitespace runs (newlines, tabs) become one space, so a multi-line error stays readable.
  const flat = value.replace(/\s+/g, ' ').replace(TEXT_UNSAFE, '_').trim();
  return flat.length > max ? flat.slice(0, Math.max(0, max - CUT_MARKER.length)) + CUT_MARKER : flat;
}

/** Longest kernel command line Rackhand hands out (x86's COMMAND_LINE_SIZE is 2048). */
export const KERNEL_LINE_MAX = 2048;
const WORD_MAX = 512;

/**
 * Characters of one kernel command-line word: what URLs, `key=value` and `ip=` forms need.
 * Stricter than bootText: no spaces (they separate words), no `(`/`)`/`!`/`*`/`<>`/`[]`.
 */
const WORD_UNSAFE = /[^A-Za-z0-9._:/=,+@%~-]/g;

/** One kernel argument: unsafe characters become `_`; too long a word is dropped whole. */
export function kernelWord(word: string): string | undefined {
  const safe = word.replace(WORD_UNSAFE, '_');
  return safe.length > 0 && safe.length <= WORD_MAX ? safe : undefined;
}

/**
 * A value inside one kernel argument (`hostname=VALUE`), for templates: unsafe characters and
 * whitespace (which would start another argument) become `_`, and it is cut to half a word's
 * length, so that `key=VALUE` still fits in one word (kernelLine drops longer words whole).
 */
export function kernelValue(value: string): string {
  return value.replace(WORD_UNSAFE, '_').slice(0, WORD_MAX / 2);
}

/**
 * A kernel command line from text that may not be ours (a rendered template, a site setting):
 * split on whitespace, each word through kernelWord, bounded in total length (words that do not
 * fit are left out, and a `rackhand.cut=1` word says so).
 */
export function kernelLine(text: string, max = KERNEL_LINE_MAX): string {
  const words: string[] = [];
  let length = 0;
  let cut = false;
  for (const raw of text.split(/\s+/)) {
    if (!raw) continue;
    const word = kernelWord(raw);
    if (word === undefined || length + word.length + 1 > max - 16) { cut = true; continue; }
    words.push(word);
    length += word.length + 1;
  }
  if (cut) words.push('rackhand.cut=1');
  return words.join(' ');
}
