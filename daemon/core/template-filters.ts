// Filters that turn a value — anything a machine reported or the inventory holds — into data in
// the format a template writes: a YAML scalar, a shell word, a debconf value, a comment's text, a
// kernel argument's value.
// Whatever the value holds (newlines, quotes, `$(…)`, backticks, `#`, `;`, YAML anchors, `%end`)
// it stays one value of that format and never becomes syntax. Pure functions, also exported for
// code that writes those formats without a template.
import nunjucks from 'nunjucks';
import { kernelValue } from './boot-text.js';

/** Line breaks of any format we write (YAML 1.1 counts NEL, LS and PS), and every other control character. */
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

function defined(filter: string, value: unknown): unknown {
  // Strict templates: a filter must not turn a missing variable into the text "undefined".
  if (value === undefined) throw new Error(`${filter}: the value is undefined`);
  return value instanceof nunjucks.runtime.SafeString ? value.toString() : value;
}

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && [Object.prototype, null].includes(Object.getPrototypeOf(v));

function hex(code: number, width: number): string {
  return code.toString(16).toUpperCase().padStart(width, '0');
}

/** A YAML double-quoted scalar holding exactly `text`, in printable ASCII (every other character escaped). */
export function yamlQuoted(text: string): string {
  let out = '"';
  for (const ch of text.replace(LONE_SURROGATE, '\ufffd')) {
    const code = ch.codePointAt(0)!;
    if (ch === '"' || ch === '\\') out += '\\' + ch;
    else if (code >= 0x20 && code < 0x7f) out += ch;
    else if (code === 0x0a) out += '\\n';
    else if (code === 0x09) out += '\\t';
    else if (code === 0x0d) out += '\\r';
    else if (code <= 0xff) out += '\\x' + hex(code, 2);
    else if (code <= 0xffff) out += '\\u' + hex(code, 4);
    else out += '\\U' + hex(code, 8);
  }
  return out + '"';
}

/**
 * `yaml`: strings become double-quoted scalars; numbers and booleans stay what they are; null is
 * null; lists and mappings become flow collections of the same.
 */
export function yamlValue(value: unknown): string {
  const v = defined('yaml', value);
  if (v === null) return 'null';
  if (typeof v === 'boolean') return String(v);
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : yamlQuoted(String(v));
  if (Array.isArray(v)) return `[${v.map((item) => yamlValue(item ?? null)).join(', ')}]`;
  if (isPlainObject(v)) return `{${Object.entries(v).map(([k, item]) => `${yamlQuoted(k)}: ${yamlValue(item ?? null)}`).join(', ')}}`;
  return yamlQuoted(String(v));
}

/** `oneline`: the text on one line — control characters and line breaks become spaces. For comments. */
export function oneLine(value: unknown): string {
  const v = defined('oneline', value);
  return (Array.isArray(v) ? v.join(' ') : String(v)).replace(CONTROL, ' ');
}

/**
 * `shell`: one POSIX single-quoted word, on one line (line-based formats around it — kickstart,
 * whose commands pykickstart splits with shlex, a preseed late_command, a %post script ended by
 * a `%end` line — must not see a line break inside it). A list becomes one word per item.
 */
export function shellWord(value: unknown): string {
  const v = defined('shell', value);
  if (Array.isArray(v)) return v.map((item) => shellWord(item ?? '')).join(' ');
  return `'${oneLine(v).replace(/'/g, `'\\''`)}'`;
}

/**
 * `preseed`: a debconf value, the rest of a `d-i question type VALUE` line: one line, trimmed
 * (debconf trims it), without a trailing backslash (which would join the next line to it).
 */
export function preseedValue(value: unknown): string {
  return oneLine(defined('preseed', value)).replace(/[\s\\]+$/, '').trim();
}

/**
 * `kernel`: a value inside one kernel command-line argument (a profile's cmdline: `hostname=…`),
 * one line, no whitespace (it would start another argument: `url=` of someone else's choosing),
 * only characters a kernel line and iPXE take literally; the rest become `_`.
 */
export function kernelArgValue(value: unknown): string {
  return kernelValue(oneLine(defined('kernel', value)));
}

export const TEMPLATE_FILTERS: Readonly<Record<string, (value: unknown) => string>> = {
  yaml: yamlValue,
  shell: shellWord,
  preseed: preseedValue,
  oneline: oneLine,
  kernel: kernelArgValue,
};
