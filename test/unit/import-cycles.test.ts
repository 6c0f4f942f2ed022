import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import * as ts from 'typescript';

/**
 * No import cycles in the code we ship and run: a cycle makes module order decide what is
 * initialised, and two modules that need each other are one module in two files. Type-only
 * imports count too: they are the same coupling.
 */

const ROOT = resolve(__dirname, '../..');
const TREES = ['functions/src', 'sandbox/src', 'scripts'];

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return name === 'node_modules' ? [] : sourceFiles(path);
    return path.endsWith('.ts') && !path.endsWith('.d.ts') ? [path] : [];
  });
}

function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const { importedFiles } = ts.preProcessFile(text, true, true);
  return importedFiles
    .map((f) => f.fileName)
    .filter((name) => name.startsWith('.'))
    .map((name) => resolveLocal(dirname(file), name))
    .filter((path): path is string => path !== null);
}

function resolveLocal(from: string, specifier: string): string | null {
  const base = resolve(from, specifier);
  for (const candidate of [base, `${base}.ts`, join(base, 'index.ts')]) {
    try {
      if (statSync(candidate).isFile() && candidate.endsWith('.ts')) return candidate;
    } catch {
      // Not this candidate.
    }
  }
  return null;
}

/** Strongly connected components of more than one file, or a file importing itself (Tarjan). */
export function cyclesIn(graph: Map<string, string[]>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (node: string): void => {
    index.set(node, next);
    low.set(node, next);
    next += 1;
    stack.push(node);
    onStack.add(node);
    for (const to of graph.get(node) ?? []) {
      if (!index.has(to)) {
        visit(to);
        low.set(node, Math.min(low.get(node)!, low.get(to)!));
      } else if (onStack.has(to)) low.set(node, Math.min(low.get(node)!, index.get(to)!));
    }
    if (low.get(node) !== index.get(node)) return;
    const component: string[] = [];
    let member: string;
    do {
      member = stack.pop()!;
      onStack.delete(member);
      component.push(member);
    } while (member !== node);
    if (component.length > 1 || (graph.get(node) ?? []).includes(node)) found.push(component.sort());
  };
  for (const node of graph.keys()) if (!index.has(node)) visit(node);
  return found;
}

test('the finder finds a cycle (so that an empty answer means something)', () => {
  const graph = new Map([
    ['a', ['b']],
    ['b', ['c']],
    ['c', ['a']],
    ['d', ['a']],
  ]);
  expect(cyclesIn(graph)).toEqual([['a', 'b', 'c']]);
});

test.each(TREES)('no import cycle in %s', (tree) => {
  const files = sourceFiles(join(ROOT, tree));
  expect(files.length).toBeGreaterThan(5);
  const graph = new Map(files.map((file) => [file, importsOf(file)]));
  const cycles = cyclesIn(graph).map((component) => component.map((file) => relative(ROOT, file)));
  expect(cycles).toEqual([]);
});
