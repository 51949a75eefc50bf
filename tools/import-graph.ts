// The import graph of a source tree, for tools/check-layout.ts: every relative import of every .ts
// file (static, type-only, re-exports, import() and import('…').T types alike: each is a
// dependency a reader has to follow), resolved to the .ts file it names, with its line; and the
// elementary cycles of that graph. Parsed with the TypeScript compiler's own parser, so strings
// and comments that look like imports are not counted.
import { readdirSync, readFileSync, existsSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import ts from 'typescript';

export interface ImportEdge {
  /** Importing and imported file, relative to the root, with forward slashes. */
  from: string;
  to: string;
  line: number;
  typeOnly: boolean;
}

export interface ImportGraph {
  /** Every .ts file under the scanned folders (relative to the root), sorted. */
  files: string[];
  /** Every import of those files that names a .ts file inside the root, in file then line order. */
  edges: ImportEdge[];
  /** Line counts of the scanned files. */
  lines: Map<string, number>;
}

const posix = (p: string): string => p.split(sep).join('/');

/** Every .ts file under `dir` (not .d.ts), sorted, as absolute paths. */
function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...sourceFiles(full));
    else if (entry.isFile() && entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) out.push(full);
  }
  return out.sort();
}

/** The .ts file a relative specifier names (NodeNext: './x.js' is ./x.ts), or undefined. */
function resolveSpecifier(fromFile: string, spec: string): string | undefined {
  if (!spec.startsWith('./') && !spec.startsWith('../')) return undefined;
  const base = resolve(dirname(fromFile), spec);
  const candidates = [base.replace(/\.js$/, '.ts'), base.replace(/\.mjs$/, '.mts'), base, `${base}.ts`, join(base, 'index.ts')];
  return candidates.find((c) => c.endsWith('.ts') && existsSync(c) && statSync(c).isFile());
}

interface RawImport { spec: string; pos: number; typeOnly: boolean }

/** The module specifiers a file names, with where and whether only types are imported. */
export function importsOf(fileName: string, text: string): RawImport[] {
  const source = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const found: RawImport[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      const clause = node.importClause;
      // `import type {…}`, or `import {type a, type b}` with no value left: erased at run time.
      const typeOnly = !!clause && (clause.isTypeOnly || (!clause.name && !!clause.namedBindings && ts.isNamedImports(clause.namedBindings)
        && clause.namedBindings.elements.length > 0 && clause.namedBindings.elements.every((e) => e.isTypeOnly)));
      found.push({ spec: node.moduleSpecifier.text, pos: node.getStart(source), typeOnly });
    } else if (ts.isExportDeclaration(node) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      found.push({ spec: node.moduleSpecifier.text, pos: node.getStart(source), typeOnly: node.isTypeOnly });
    } else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)
      && ts.isStringLiteral(node.moduleReference.expression)) {
      found.push({ spec: node.moduleReference.expression.text, pos: node.getStart(source), typeOnly: node.isTypeOnly });
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword
      && node.arguments[0] && ts.isStringLiteral(node.arguments[0])) {
      found.push({ spec: node.arguments[0].text, pos: node.getStart(source), typeOnly: false });
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument) && ts.isStringLiteral(node.argument.literal)) {
      found.push({ spec: node.argument.literal.text, pos: node.getStart(source), typeOnly: true });
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found.map((f) => ({ ...f, pos: source.getLineAndCharacterOfPosition(f.pos).line + 1 }));
}

/** The .ts files under `root`/`folders` and their relative imports of .ts files inside `root`. */
export function importGraph(root: string, folders: string[]): ImportGraph {
  const absRoot = resolve(root);
  const files = folders.flatMap((f) => (existsSync(join(absRoot, f)) ? sourceFiles(join(absRoot, f)) : []));
  const edges: ImportEdge[] = [];
  const lines = new Map<string, number>();
  for (const file of files) {
    const text = readFileSync(file, 'utf8');
    const from = posix(relative(absRoot, file));
    lines.set(from, text.length === 0 ? 0 : text.split('\n').length - (text.endsWith('\n') ? 1 : 0));
    for (const imp of importsOf(file, text)) {
      const target = resolveSpecifier(file, imp.spec);
      if (!target || relative(absRoot, target).startsWith('..')) continue;
      edges.push({ from, to: posix(relative(absRoot, target)), line: imp.pos, typeOnly: imp.typeOnly });
    }
  }
  return { files: files.map((f) => posix(relative(absRoot, f))), edges, lines };
}

/**
 * Every elementary cycle of the graph, each as its files in order starting from the smallest
 * name (so a cycle prints the same whatever else changes), sorted. A file importing itself is a
 * cycle of one. Throws past `limit` cycles rather than run for ever on a dense tangle.
 */
export function findCycles(edges: Pick<ImportEdge, 'from' | 'to'>[], limit = 5000): string[][] {
  const next = new Map<string, string[]>();
  for (const e of edges) {
    const list = next.get(e.from) ?? [];
    if (!list.includes(e.to)) list.push(e.to);
    next.set(e.from, list);
  }
  for (const list of next.values()) list.sort();
  const nodes = [...new Set(edges.flatMap((e) => [e.from, e.to]))].sort();
  const cycles: string[][] = [];
  // For each start s (in name order), the simple paths from s back to s through files named
  // after s only: each cycle is found once, from its smallest file.
  for (const start of nodes) {
    const path = [start];
    const onPath = new Set(path);
    const walk = (node: string): void => {
      for (const to of next.get(node) ?? []) {
        if (to === start) {
          cycles.push([...path]);
          if (cycles.length > limit) throw new Error(`more than ${limit} import cycles`);
        } else if (to > start && !onPath.has(to)) {
          path.push(to);
          onPath.add(to);
          walk(to);
          onPath.delete(to);
          path.pop();
        }
      }
    };
    walk(start);
  }
  return cycles.sort((a, b) => a.join('\0').localeCompare(b.join('\0')));
}
