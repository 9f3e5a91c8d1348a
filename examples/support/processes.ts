import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** A running example program, its output lines, and a way to wait for one. */
export class ExampleProcess {
  readonly lines: string[] = [];
  readonly stderr: string[] = [];
  private readonly waiters = new Set<() => void>();
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(readonly child: ChildProcess) {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      this.lines.push(line);
      for (const wake of this.waiters) wake();
    });
    createInterface({ input: child.stderr! }).on('line', (line) => this.stderr.push(line));
    this.exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** The parsed JSON lines (for --json programs). */
  events(): Record<string, unknown>[] {
    return this.lines.filter((line) => line.startsWith('{')).map((line) => JSON.parse(line) as Record<string, unknown>);
  }

  /** Resolves with the first line (old or new) that `match` accepts. */
  waitForLine(match: (line: string) => boolean, timeoutMs = 30_000): Promise<string> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const found = this.lines.find(match);
        if (found === undefined) return false;
        this.waiters.delete(check);
        clearTimeout(timer);
        resolve(found);
        return true;
      };
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(new Error(`no matching line within ${timeoutMs} ms; stdout:\n${this.lines.join('\n')}\nstderr:\n${this.stderr.join('\n')}`));
      }, timeoutMs);
      if (!check()) this.waiters.add(check);
    });
  }

  /** Resolves with the first JSON event named `event` that `match` accepts. */
  async waitForEvent(event: string, match: (fields: Record<string, unknown>) => boolean = () => true, timeoutMs?: number) {
    const line = await this.waitForLine((text) => {
      if (!text.startsWith('{')) return false;
      const fields = JSON.parse(text) as Record<string, unknown>;
      return fields.event === event && match(fields);
    }, timeoutMs);
    return JSON.parse(line) as Record<string, unknown>;
  }

  signal(signal: NodeJS.Signals): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
  }
}

/** Starts `examples/<name>.ts` under tsx, as a user would, with its own process group of one. */
export function startExample(name: string, args: string[], env: NodeJS.ProcessEnv = {}): ExampleProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', `examples/${name}.ts`, ...args], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new ExampleProcess(child);
}

/** What `startWorker` passes to worker.ts (`--json` always: the callers read its lines). */
export interface WorkerOptions {
  connect: string;
  path: string;
  id: string;
  sessionTimeoutMs?: number;
  backend?: string;
  recipe?: string;
  fencedStore?: string;
  /** A znode to commit records under through election.transaction() while leading. */
  guardedWrites?: string;
}

/** Starts `examples/worker.ts --json` with these flags. */
export function startWorker(options: WorkerOptions): ExampleProcess {
  const { connect, path, id, sessionTimeoutMs, backend, recipe, fencedStore, guardedWrites } = options;
  return startExample('worker', [
    ...['--connect', connect, '--path', path, '--id', id, '--json'],
    ...(sessionTimeoutMs === undefined ? [] : ['--session-timeout', String(sessionTimeoutMs)]),
    ...(backend === undefined ? [] : ['--backend', backend]),
    ...(recipe === undefined ? [] : ['--recipe', recipe]),
    ...(fencedStore === undefined ? [] : ['--fenced-store', fencedStore]),
    ...(guardedWrites === undefined ? [] : ['--guarded-writes', guardedWrites]),
  ]);
}
