// The dashboard's one way to write HTML: `html` is a tagged template that escapes every value put
// into it unless it is already Html (made by `html` itself). Store and network text (hostnames,
// vendor classes, agent errors) is hostile: there is no other path from a value to a page.

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;', '`': '&#96;' };

/** Text made safe for an HTML text node or a quoted attribute value. */
export function escapeHtml(value: unknown): string {
  return String(value ?? '').replace(/[&<>"'`]/g, (c) => ESCAPES[c]!);
}

/** HTML that is already safe (produced by `html`); anything else is escaped when interpolated. */
export class Html {
  constructor(readonly text: string) {}
  toString(): string { return this.text; }
}

type Part = Html | string | number | boolean | null | undefined | readonly Part[];

function render(v: Part): string {
  if (v instanceof Html) return v.text;
  if (Array.isArray(v)) return v.map(render).join('');
  if (v === null || v === undefined || v === false) return '';
  return escapeHtml(v);
}

export function html(strings: TemplateStringsArray, ...values: Part[]): Html {
  let out = strings[0]!;
  values.forEach((v, i) => { out += render(v) + strings[i + 1]!; });
  return new Html(out);
}

/** A value for a JSON attribute (hx-headers, hx-vals): JSON, then escaped like any other value. */
export const jsonAttr = (v: unknown): string => JSON.stringify(v);
