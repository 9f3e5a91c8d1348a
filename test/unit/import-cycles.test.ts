import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const sourceRoot = resolve(import.meta.dirname, '../../src');

function sourceFiles(directory: string): string[] {
  return readdirSync(directory, { withFileTypes: true }).flatMap((entry) => {
    const path = join(directory, entry.name);
    return entry.isDirectory() ? sourceFiles(path) : path.endsWith('.ts') ? [path] : [];
  });
}

/** Each file's relative imports and re-exports, type-only ones included, as files. */
function importGraph(): Map<string, string[]> {
  const files = sourceFiles(sourceRoot);
  const known = new Set(files);
  const fromClause = /(?:import|export)\s[^'"]*?from\s+['"](\.[^'"]+)['"]|import\(\s*['"](\.[^'"]+)['"]\s*\)/g;
  return new Map(
    files.map((file) => {
      const targets = [...readFileSync(file, 'utf8').matchAll(fromClause)].map((match) =>
        resolve(dirname(file), (match[1] ?? match[2])!.replace(/\.js$/, '.ts')),
      );
      return [file, [...new Set(targets.filter((target) => known.has(target)))]];
    }),
  );
}

/** Every import cycle a depth-first walk meets, each as the files around it. */
function cycles(graph: Map<string, string[]>): string[][] {
  const found: string[][] = [];
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (file: string) => {
    state.set(file, 'open');
    stack.push(file);
    for (const target of graph.get(file) ?? []) {
      if (state.get(target) === 'open') found.push(stack.slice(stack.indexOf(target)).map((path) => relative(sourceRoot, path)));
      else if (!state.has(target)) visit(target);
    }
    stack.pop();
    state.set(file, 'done');
  };
  for (const file of graph.keys()) if (!state.has(file)) visit(file);
  return found;
}

describe('src imports', () => {
  it('form no cycle, type-only imports included', () => {
    expect(cycles(importGraph())).toEqual([]);
  });

  it('are read by the check: a known import is in the graph', () => {
    // Guards the check itself: a pattern that matched nothing would pass any tree.
    expect(importGraph().get(join(sourceRoot, 'health.ts'))).toContain(join(sourceRoot, 'session-state.ts'));
  });
});
