import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

// Every TypeScript sample in the README compiles as a user would copy it (issue 26: the
// "Use it" sample did not, for a missing import). A sample may use, without defining them,
// the names in `placeholders` (the user's own code, or what an earlier sample made); anything
// else it uses must be imported or defined in the sample itself.

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** What a sample may take as given unless it declares it itself: name -> declaration. */
const placeholders: Record<string, string> = {
  election: "declare const election: import('zk-leader').LeaderElection;",
  signal: 'declare const signal: AbortSignal;',
  connect: 'declare const connect: string;',
  log: 'declare const log: { warn(value: unknown): void };',
  scheduleDueJobs: 'declare function scheduleDueJobs(work: { fencingToken: bigint; signal: AbortSignal }): Promise<void>;',
  startServing: 'declare function startServing(...args: unknown[]): void;',
  http: "import http from 'node:http';",
  startZooKeeper: "import { startZooKeeper } from 'zk-leader/testing';",
};

interface Sample {
  line: number;
  code: string;
}

function samples(): Sample[] {
  const lines = readFileSync(join(root, 'README.md'), 'utf8').split('\n');
  const found: Sample[] = [];
  for (let index = 0; index < lines.length; index++) {
    if (lines[index] !== '```ts') continue;
    const start = index + 1;
    let end = start;
    while (end < lines.length && lines[end] !== '```') end++;
    found.push({ line: start + 1, code: lines.slice(start, end).join('\n') });
    index = end;
  }
  return found;
}

function withPlaceholders(code: string): string {
  const given = Object.entries(placeholders)
    .filter(([name]) => new RegExp(`\\b${name}\\b`).test(code))
    .filter(([name]) => !new RegExp(`\\b(const|let|var|using|function)\\s+${name}\\b|\\bimport\\b[^;]*\\b${name}\\b[^;]*\\bfrom\\b`).test(code))
    .map(([, declaration]) => declaration);
  return [...given, code, 'export {};'].join('\n');
}

/** Type-checks every sample in one program; the diagnostics, each with the README line it is on. */
function compile(found: Sample[]): string[] {
  const files = new Map(found.map((sample, index) => [join(root, `readme-sample-${index}.ts`), withPlaceholders(sample.code)]));
  const options: ts.CompilerOptions = {
    target: ts.ScriptTarget.ES2022,
    lib: ['lib.es2023.d.ts', 'lib.esnext.disposable.d.ts'],
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    types: ['node'],
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    esModuleInterop: true,
    // The package by its published name, from its sources (the samples import 'zk-leader').
    baseUrl: root,
    paths: {
      'zk-leader': ['src/index.ts'],
      'zk-leader/testing': ['src/testing/index.ts'],
      'zk-leader/metrics': ['src/metrics/index.ts'],
    },
  };
  const host = ts.createCompilerHost(options);
  const disk = ts.createCompilerHost(options);
  host.fileExists = (name) => files.has(name) || disk.fileExists(name);
  host.readFile = (name) => files.get(name) ?? disk.readFile(name);
  host.getSourceFile = (name, version, ...rest) => {
    const text = files.get(name);
    return text !== undefined ? ts.createSourceFile(name, text, version) : disk.getSourceFile(name, version, ...rest);
  };
  const program = ts.createProgram([...files.keys()], options, host);
  const sampleOf = new Map([...files.keys()].map((name, index) => [name, found[index]!]));
  return ts
    .getPreEmitDiagnostics(program)
    .filter((diagnostic) => diagnostic.file && sampleOf.has(diagnostic.file.fileName))
    .map((diagnostic) => {
      const sample = sampleOf.get(diagnostic.file!.fileName)!;
      const given = withPlaceholders(sample.code).split('\n').length - sample.code.split('\n').length - 1;
      const { line } = diagnostic.file!.getLineAndCharacterOfPosition(diagnostic.start ?? 0);
      return `README.md:${sample.line + line - given}: ${ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n')}`;
    });
}

describe('the README', () => {
  it('has TypeScript samples, and every one of them compiles', () => {
    const found = samples();
    expect(found.length).toBeGreaterThanOrEqual(8);
    expect(compile(found)).toEqual([]);
  }, 60_000);
});
