// Source positions for inventory errors: a path into the parsed value (['machines', 1, 'mac'])
// is walked through the YAML document to the node that holds it, so every error can name its
// FILE:LINE:COL. Where the path leads to something absent (a missing key), the nearest node
// that does exist is named instead.
import { isMap, isScalar, isSeq, type Document, type LineCounter, type Node } from 'yaml';

export type PathItem = string | number;

export interface Position {
  line: number;
  col: number;
}

function child(node: unknown, key: PathItem): { value: unknown; keyNode?: unknown } | undefined {
  if (isMap(node)) {
    for (const pair of node.items) {
      const k = isScalar(pair.key) ? pair.key.value : pair.key;
      if (String(k) === String(key)) return { value: pair.value, keyNode: pair.key };
    }
    return undefined;
  }
  if (isSeq(node) && typeof key === 'number') {
    const item = node.items[key];
    return item === undefined ? undefined : { value: item };
  }
  return undefined;
}

/**
 * The position of `path` in the document. With `atKey`, the position of that key inside the
 * map at `path` (for unknown keys). With `preferKey`, a found map entry is located at its key.
 */
export function locate(doc: Document, counter: LineCounter, path: readonly PathItem[], opts: { atKey?: string; preferKey?: boolean } = {}): Position {
  let node: unknown = doc.contents;
  let best: unknown = node;
  let keyNode: unknown;
  for (const item of path) {
    const next = child(node, item);
    if (!next) break;
    node = next.value;
    keyNode = next.keyNode;
    best = node ?? next.keyNode;
  }
  if (opts.atKey !== undefined) {
    const k = child(node, opts.atKey);
    if (k?.keyNode) best = k.keyNode;
  } else if (opts.preferKey && keyNode) {
    best = keyNode;
  }
  const range = (best as Node | null | undefined)?.range;
  const offset = range ? range[0] : 0;
  const pos = counter.linePos(offset);
  return { line: pos.line, col: pos.col };
}

/** ['machines', 1, 'power', 'password'] → "machines[1].power.password" */
export function formatPath(path: readonly PathItem[]): string {
  let out = '';
  for (const item of path) {
    if (typeof item === 'number') out += `[${item}]`;
    else out += out ? `.${item}` : item;
  }
  return out || '(top)';
}
