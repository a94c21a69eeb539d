/**
 * The folder layout is the data flow (docs/architecture.md): each folder of src/ imports only the
 * folders its row allows, and no two files import each other, directly or through others. Type-only
 * imports count too: a cycle of types is still two modules that cannot be read apart.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const SRC = fileURLToPath(new URL('../src', import.meta.url));
const RULES = JSON.parse(
  readFileSync(fileURLToPath(new URL('../docs/architecture-rules.json', import.meta.url)), 'utf8'),
) as { folders: Record<string, string[]> };

/** `sources/slack/x.ts` → `sources`; a file directly in src/ → `shared`. */
function folderOf(path: string): string {
  const slash = path.indexOf('/');
  return slash < 0 ? 'shared' : path.slice(0, slash);
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return name.endsWith('.ts') ? [path] : [];
  });
}

/** Relative imports of one file, resolved to files under src/ (`.js` specifiers name `.ts` files). */
function importsOf(file: string): string[] {
  const info = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
  return info.importedFiles
    .map((f) => f.fileName)
    .filter((spec) => spec.startsWith('.'))
    .map((spec) => resolve(dirname(file), spec).replace(/\.js$/, '.ts'))
    .filter((target) => target.endsWith('.ts') && target.startsWith(SRC + '/'));
}

const files = sourceFiles(SRC);
const graph = new Map(files.map((f) => [f, importsOf(f)]));
const rel = (f: string) => relative(SRC, f);

/** Every cycle, each reported once from its smallest file name (Tarjan's strongly connected components). */
function cycles(): string[][] {
  let index = 0;
  const stack: string[] = [];
  const onStack = new Set<string>();
  const indexOf = new Map<string, number>();
  const low = new Map<string, number>();
  const found: string[][] = [];
  const visit = (v: string): void => {
    indexOf.set(v, index);
    low.set(v, index);
    index += 1;
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!indexOf.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, indexOf.get(w)!));
    }
    if (low.get(v) === indexOf.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(rel(w));
      } while (w !== v);
      if (component.length > 1) found.push(component.sort());
    }
  };
  for (const f of files) if (!indexOf.has(f)) visit(f);
  return found;
}

describe('architecture', () => {
  it('finds the source files and their imports', () => {
    expect(files.length).toBeGreaterThan(100);
    expect(graph.get(join(SRC, 'cli', 'main.ts'))!.length).toBeGreaterThan(5);
  });

  it('every folder of src/ has a rule', () => {
    const folders = new Set(files.map((f) => folderOf(rel(f))));
    expect([...folders].filter((f) => RULES.folders[f] === undefined)).toEqual([]);
  });

  it('every import of src/ stays within its folder’s allowed folders', () => {
    const wrong: string[] = [];
    for (const [file, targets] of graph) {
      const from = folderOf(rel(file));
      for (const target of targets) {
        const to = folderOf(rel(target));
        if (to !== from && !(RULES.folders[from] ?? []).includes(to))
          wrong.push(`${rel(file)} -> ${rel(target)}`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it('has no import cycles between files', () => {
    expect(cycles()).toEqual([]);
  });

  it('the cycle finder sees a cycle when there is one', () => {
    const a = join(SRC, 'model', 'index.ts');
    const b = join(SRC, 'model', 'ids.ts');
    const saved = graph.get(a)!;
    graph.set(a, [...saved, b]);
    const savedB = graph.get(b)!;
    graph.set(b, [...savedB, a]);
    try {
      expect(cycles().some((c) => c.includes('model/index.ts') && c.includes('model/ids.ts'))).toBe(
        true,
      );
    } finally {
      graph.set(a, saved);
      graph.set(b, savedB);
    }
  });
});
